import { describe, expect, it } from 'vitest';
import { CachedSource } from './cached-source.util';

/** A promise the test settles by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('CachedSource', () => {
  it('reuses a value for the TTL after its load finished, then loads again', async () => {
    let clock = 0;
    let loads = 0;
    const source = new CachedSource(async () => ++loads, { ttlMs: 5_000, budgetMs: 1_000, now: () => clock });
    expect(await source.read()).toEqual({ ok: true, value: 1 });
    clock = 4_999;
    expect(await source.read()).toEqual({ ok: true, value: 1 });
    clock = 5_000;
    expect(await source.read()).toEqual({ ok: true, value: 2 });
    expect(loads).toBe(2);
  });

  it('shares one load between the reads that arrive while it runs', async () => {
    const pending = deferred<string>();
    let loads = 0;
    const source = new CachedSource(() => (loads++, pending.promise), { ttlMs: 5_000, budgetMs: 1_000 });
    const reads = [source.read(), source.read(), source.read()];
    pending.resolve('state');
    expect(await Promise.all(reads)).toEqual(Array(3).fill({ ok: true, value: 'state' }));
    expect(loads).toBe(1);
  });

  it('gives up on a slow load after the budget, never stacks another, and serves its value once it lands', async () => {
    const pending = deferred<string>();
    let loads = 0;
    const source = new CachedSource(() => (loads++, pending.promise), { ttlMs: 5_000, budgetMs: 30 });
    const started = Date.now();
    expect(await source.read()).toEqual({ ok: false, error: 'no answer within 30 ms' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await source.read()).toEqual({ ok: false, error: 'no answer within 30 ms' });
    expect(loads).toBe(1);
    pending.resolve('late');
    await pending.promise;
    expect(await source.read()).toEqual({ ok: true, value: 'late' });
    expect(loads).toBe(1);
    expect(source.lastLoadDurationMs).toBeGreaterThanOrEqual(25);
  });

  it('reports a failed load and does not cache it: the next read tries again', async () => {
    let calls = 0;
    const source = new CachedSource(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('SQLITE_BUSY: database is locked');
        return calls;
      },
      { ttlMs: 5_000, budgetMs: 1_000 },
    );
    expect(await source.read()).toEqual({ ok: false, error: 'SQLITE_BUSY: database is locked' });
    expect(await source.read()).toEqual({ ok: true, value: 2 });
  });

  it('does not turn a failure nobody waits for any more into an unhandled rejection', async () => {
    const pending = deferred<number>();
    const source = new CachedSource(() => pending.promise, { ttlMs: 5_000, budgetMs: 10 });
    expect((await source.read()).ok).toBe(false);
    pending.reject(new Error('connection reset'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The next read starts a new load, which fails the same way.
    expect(await source.read()).toEqual({ ok: false, error: 'connection reset' });
  });
});
