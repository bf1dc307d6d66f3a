import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { BlobDownloadLock, BlobLockLease } from './blob-download-lock';

// Only the holder (same token) may extend or delete its lock.
const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface RedisBlobDownloadLockOptions {
  /** Key prefix (the queue prefix), so test runs and deployments sharing a Redis stay apart. Default `cargohold`. */
  prefix?: string;
  /** Lifetime of a lock nobody renews: how long a crashed holder blocks others. Default 15 s. */
  ttlMs?: number;
  /** How often a waiter looks whether the lock is gone. Default 100 ms. */
  pollMs?: number;
}

/**
 * BlobDownloadLock in Redis: `SET key token NX PX ttl`, renewed every ttl/3 while the holder
 * downloads, deleted on release by its holder only. Waiters poll until the key is gone.
 */
export class RedisBlobDownloadLock implements BlobDownloadLock {
  private readonly logger = new Logger(RedisBlobDownloadLock.name);
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    options: RedisBlobDownloadLockOptions = {},
  ) {
    this.prefix = options.prefix ?? 'cargohold';
    this.ttlMs = options.ttlMs ?? 15_000;
    this.pollMs = options.pollMs ?? 100;
  }

  private key(digest: string): string {
    return `${this.prefix}:blob-download:${digest}`;
  }

  async tryAcquire(digest: string): Promise<BlobLockLease | null> {
    const key = this.key(digest);
    const token = randomUUID();
    const taken = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    if (taken !== 'OK') return null;
    const renewal = setInterval(() => {
      this.redis.eval(RENEW_SCRIPT, 1, key, token, String(this.ttlMs)).catch((error: unknown) => {
        // Losing the lock only means another replica may download the same blob too.
        this.logger.warn(`could not renew the download lock of ${digest}: ${(error as Error).message}`);
      });
    }, Math.max(Math.floor(this.ttlMs / 3), 10));
    renewal.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renewal);
        // Left to expire if Redis is unreachable now.
        await this.redis.eval(RELEASE_SCRIPT, 1, key, token).catch((error: unknown) => {
          this.logger.warn(`could not release the download lock of ${digest}: ${(error as Error).message}`);
        });
      },
    };
  }

  async waitForRelease(digest: string, signal?: AbortSignal): Promise<void> {
    const key = this.key(digest);
    while ((await this.redis.exists(key)) === 1) {
      await sleep(this.pollMs, undefined, { signal });
    }
  }
}
