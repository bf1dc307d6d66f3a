import { describe, expect, it } from 'vitest';
import type { BlobStore } from '@cargohold/storage';
import { ExpireStagingService } from './expire-staging.service';

type StagedEntry = { key: string; size: number; modified: Date };

function fakeStore(entries: StagedEntry[]): Pick<BlobStore, 'listStaged' | 'removeStaged'> & { keys(): string[] } {
  const staged = new Map(entries.map((entry) => [entry.key, entry]));
  return {
    async *listStaged() {
      for (const entry of [...staged.values()]) yield entry;
    },
    async removeStaged(key: string) {
      staged.delete(key);
    },
    keys: () => [...staged.keys()].sort(),
  };
}

const now = new Date('2026-11-27T12:00:00Z');
const ago = (seconds: number): Date => new Date(now.getTime() - seconds * 1000);

describe('ExpireStagingService', () => {
  it('removes staged data older than the window and counts it', async () => {
    const store = fakeStore([
      { key: 'load-old', size: 100, modified: ago(7200) },
      { key: 'build-old', size: 23, modified: ago(3601) },
      { key: 'load-new', size: 5, modified: ago(60) },
    ]);
    const result = await new ExpireStagingService(store).expire(3600, { now });
    expect(result).toEqual({ removed: 2, bytes: 123 });
    expect(store.keys()).toEqual(['load-new']);
  });

  it('keeps data exactly at the edge of the window', async () => {
    const store = fakeStore([{ key: 'edge', size: 1, modified: ago(3600) }]);
    expect(await new ExpireStagingService(store).expire(3600, { now })).toEqual({ removed: 0, bytes: 0 });
    expect(store.keys()).toEqual(['edge']);
  });

  it('does nothing on a second run (idempotent)', async () => {
    const store = fakeStore([{ key: 'old', size: 9, modified: ago(90_000) }]);
    const service = new ExpireStagingService(store);
    expect(await service.expire(86_400, { now })).toEqual({ removed: 1, bytes: 9 });
    expect(await service.expire(86_400, { now })).toEqual({ removed: 0, bytes: 0 });
  });

  it('stops when aborted', async () => {
    const store = fakeStore([{ key: 'old', size: 9, modified: ago(90_000) }]);
    const controller = new AbortController();
    controller.abort(new Error('worker is shutting down'));
    await expect(new ExpireStagingService(store).expire(60, { now, signal: controller.signal })).rejects.toThrow('worker is shutting down');
    expect(store.keys()).toEqual(['old']);
  });
});

describe('ExpireStagingService with registry upload sessions', () => {
  const live = '0b5f4a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
  const idle = '1b5f4a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';

  it('ends idle sessions first, then keeps the old chunks of sessions still in use', async () => {
    const store = fakeStore([
      { key: `upload-${live}-aaaa`, size: 10, modified: ago(7200) },
      { key: `upload-${idle}-bbbb`, size: 20, modified: ago(7200) },
      { key: `upload-${live}-cccc`, size: 30, modified: ago(10) },
    ]);
    const sessions = new Set([live, idle]);
    let cutoffSeen = 0;
    const repo = {
      async expire(cutoff: number) {
        cutoffSeen = cutoff;
        sessions.delete(idle);
        return 1;
      },
      async liveIds() {
        return new Set(sessions);
      },
    };
    const result = await new ExpireStagingService(store, repo).expire(3600, { now });
    expect(cutoffSeen).toBe(now.getTime() - 3600 * 1000);
    expect(result).toEqual({ removed: 1, bytes: 20 });
    expect(store.keys()).toEqual([`upload-${live}-aaaa`, `upload-${live}-cccc`]);
  });
});
