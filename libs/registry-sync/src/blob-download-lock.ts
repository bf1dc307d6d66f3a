/** Nest token of the BlobDownloadLock the pull service uses. */
export const BLOB_DOWNLOAD_LOCK = Symbol('BlobDownloadLock');

/** A held lock; release it when the download has ended, whether it succeeded or not. */
export interface BlobLockLease {
  release(): Promise<void>;
}

/**
 * A per-blob mutex shared by every puller replica, so that one blob is downloaded once however
 * many pulls want it at the same time. Only an optimisation: the blob store stays correct under
 * concurrent puts of the same content, so a lost or expired lock costs bandwidth, never data.
 */
export interface BlobDownloadLock {
  /** Takes the lock for `digest`, or returns null at once when someone else holds it. */
  tryAcquire(digest: string): Promise<BlobLockLease | null>;
  /** Resolves once nobody holds the lock for `digest` (released, or expired with its holder). */
  waitForRelease(digest: string, signal?: AbortSignal): Promise<void>;
}

export interface DownloadOnceSteps {
  /** True when the blob is in the store already (checked again under the lock and after every wait). */
  isPresent(): Promise<boolean>;
  /** Downloads and stores the blob; called with the lock held. */
  download(): Promise<void>;
  /** Called once, the first time another holder is found downloading the blob. */
  onWait?(): Promise<void> | void;
  signal?: AbortSignal;
}

/** `downloaded`: this call stored the blob; `present`: it was there already, or another holder stored it. */
export type DownloadOnceOutcome = 'downloaded' | 'present';

/**
 * Downloads a blob unless it is present, with at most one download per digest at a time across
 * everyone sharing `lock`. A waiter re-checks the store when the holder lets go: if the holder
 * failed, the waiter takes the lock and downloads itself.
 */
export async function downloadOnce(lock: BlobDownloadLock, digest: string, steps: DownloadOnceSteps): Promise<DownloadOnceOutcome> {
  let waited = false;
  for (;;) {
    steps.signal?.throwIfAborted();
    const lease = await lock.tryAcquire(digest);
    if (lease) {
      try {
        if (await steps.isPresent()) return 'present';
        await steps.download();
        return 'downloaded';
      } finally {
        await lease.release();
      }
    }
    if (!waited) {
      waited = true;
      await steps.onWait?.();
    }
    await lock.waitForRelease(digest, steps.signal);
    if (await steps.isPresent()) return 'present';
  }
}

/** A BlobDownloadLock for one process (unit tests, or a single replica without Redis). */
export class InMemoryBlobDownloadLock implements BlobDownloadLock {
  private readonly held = new Map<string, { released: Promise<void>; release: () => void }>();

  async tryAcquire(digest: string): Promise<BlobLockLease | null> {
    if (this.held.has(digest)) return null;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const entry = { released, release };
    this.held.set(digest, entry);
    return {
      release: async () => {
        if (this.held.get(digest) === entry) this.held.delete(digest);
        entry.release();
      },
    };
  }

  async waitForRelease(digest: string, signal?: AbortSignal): Promise<void> {
    const entry = this.held.get(digest);
    if (!entry) return;
    signal?.throwIfAborted();
    if (!signal) return entry.released;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      void entry.released.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Digests locked right now (for tests). */
  heldDigests(): string[] {
    return [...this.held.keys()];
  }
}
