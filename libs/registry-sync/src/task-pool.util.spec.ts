import { describe, expect, it } from 'vitest';
import { runPool } from './task-pool.util';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    });
  });

describe('runPool', () => {
  it('runs every item, never more than `limit` at once, in order', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await runPool([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      started.push(item);
      running++;
      peak = Math.max(peak, running);
      await sleep(5);
      running--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it('throws the first failure after aborting the others, and starts nothing new', async () => {
    const started: number[] = [];
    const aborted: number[] = [];
    const run = runPool([1, 2, 3, 4], 2, async (item, signal) => {
      started.push(item);
      if (item === 1) throw new Error('item 1 failed');
      await sleep(1_000, signal).catch((error: unknown) => {
        aborted.push(item);
        throw error;
      });
    });
    await expect(run).rejects.toThrow('item 1 failed');
    expect(started).toEqual([1, 2]);
    expect(aborted).toEqual([2]);
  });
});
