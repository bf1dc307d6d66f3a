import { describe, expect, it } from 'vitest';
import { downloadOnce, InMemoryBlobDownloadLock } from './blob-download-lock';

/** A blob store reduced to a set of digests, with a download that takes until `finish()` is called. */
function fakeStore() {
  const stored = new Set<string>();
  let downloads = 0;
  const pending: Array<() => void> = [];
  return {
    stored,
    get downloads() {
      return downloads;
    },
    isPresent: (digest: string) => async () => stored.has(digest),
    download: (digest: string, fail = false) => async () => {
      downloads++;
      await new Promise<void>((resolve) => pending.push(resolve));
      if (fail) throw new Error('connection reset');
      stored.add(digest);
    },
    finishAll: () => pending.splice(0).forEach((resolve) => resolve()),
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('downloadOnce with the in-memory lock', () => {
  it('downloads a missing blob and releases the lock', async () => {
    const lock = new InMemoryBlobDownloadLock();
    const store = fakeStore();
    const outcome = downloadOnce(lock, 'sha256:a', { isPresent: store.isPresent('sha256:a'), download: store.download('sha256:a') });
    await tick();
    expect(lock.heldDigests()).toEqual(['sha256:a']);
    store.finishAll();
    expect(await outcome).toBe('downloaded');
    expect(lock.heldDigests()).toEqual([]);
  });

  it('does not download a blob that is present once the lock is held', async () => {
    const lock = new InMemoryBlobDownloadLock();
    const store = fakeStore();
    store.stored.add('sha256:a');
    expect(await downloadOnce(lock, 'sha256:a', { isPresent: store.isPresent('sha256:a'), download: store.download('sha256:a') })).toBe('present');
    expect(store.downloads).toBe(0);
  });

  it('lets concurrent callers wait for the one download, each told once that it waits', async () => {
    const lock = new InMemoryBlobDownloadLock();
    const store = fakeStore();
    const waits: number[] = [];
    const run = (i: number) =>
      downloadOnce(lock, 'sha256:a', { isPresent: store.isPresent('sha256:a'), download: store.download('sha256:a'), onWait: () => void waits.push(i) });
    const outcomes = Promise.all([run(0), run(1), run(2)]);
    await tick();
    store.finishAll();
    expect(await outcomes).toEqual(['downloaded', 'present', 'present']);
    expect(store.downloads).toBe(1);
    expect(waits.sort()).toEqual([1, 2]);
  });

  it('lets a waiter download when the holder failed', async () => {
    const lock = new InMemoryBlobDownloadLock();
    const store = fakeStore();
    const failing = downloadOnce(lock, 'sha256:a', { isPresent: store.isPresent('sha256:a'), download: store.download('sha256:a', true) });
    failing.catch(() => undefined);
    await tick();
    const waiting = downloadOnce(lock, 'sha256:a', { isPresent: store.isPresent('sha256:a'), download: store.download('sha256:a') });
    await tick();
    store.finishAll();
    await expect(failing).rejects.toThrow('connection reset');
    await tick();
    store.finishAll();
    expect(await waiting).toBe('downloaded');
    expect(store.downloads).toBe(2);
    expect(lock.heldDigests()).toEqual([]);
  });

  it('keeps different blobs apart', async () => {
    const lock = new InMemoryBlobDownloadLock();
    const store = fakeStore();
    const a = downloadOnce(lock, 'sha256:a', { isPresent: store.isPresent('sha256:a'), download: store.download('sha256:a') });
    const b = downloadOnce(lock, 'sha256:b', { isPresent: store.isPresent('sha256:b'), download: store.download('sha256:b') });
    await tick();
    expect(lock.heldDigests().sort()).toEqual(['sha256:a', 'sha256:b']);
    store.finishAll();
    expect(await Promise.all([a, b])).toEqual(['downloaded', 'downloaded']);
  });

  it('stops waiting when aborted', async () => {
    const lock = new InMemoryBlobDownloadLock();
    const store = fakeStore();
    const holder = downloadOnce(lock, 'sha256:a', { isPresent: store.isPresent('sha256:a'), download: store.download('sha256:a') });
    const controller = new AbortController();
    const waiter = downloadOnce(lock, 'sha256:a', { isPresent: store.isPresent('sha256:a'), download: store.download('sha256:a'), signal: controller.signal });
    await tick();
    controller.abort(new Error('job cancelled'));
    await expect(waiter).rejects.toThrow('job cancelled');
    store.finishAll();
    expect(await holder).toBe('downloaded');
  });
});
