import { describe, expect, it } from 'vitest';
import { backoffDelay, retryAfterMs, sleep } from './backoff.util';

describe('backoffDelay', () => {
  it('doubles from 200 ms with up to 50% jitter, capped at 10 s', () => {
    expect(backoffDelay(0, 200, () => 0)).toBe(200);
    expect(backoffDelay(3, 200, () => 0)).toBe(1600);
    expect(backoffDelay(3, 200, () => 1)).toBe(2400);
    expect(backoffDelay(20, 200, () => 0)).toBe(10_000);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and dates and ignores waits that are too long', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 5_000)).toBe(5000);
    expect(retryAfterMs('3600')).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});

describe('sleep', () => {
  it('rejects with the abort reason', async () => {
    const controller = new AbortController();
    const waiting = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});
