import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearRedisPrefix, testRedisUrl, uniquePrefix } from '@cargohold/testing';
import { downloadOnce } from './blob-download-lock';
import { RedisBlobDownloadLock } from './redis-blob-download-lock';

describe('RedisBlobDownloadLock (real Redis)', () => {
  const prefix = uniquePrefix('blob-lock');
  let a: Redis;
  let b: Redis;
  let raw: Redis;

  beforeAll(() => {
    [a, b, raw] = [new Redis(testRedisUrl()), new Redis(testRedisUrl()), new Redis(testRedisUrl())];
  });
  afterAll(async () => {
    await clearRedisPrefix(testRedisUrl(), prefix);
    await Promise.all([a, b, raw].map((r) => r?.quit()));
  });

  it('gives the lock to one holder at a time, keeps it alive while held, and frees it on release', async () => {
    const first = new RedisBlobDownloadLock(a, { prefix, ttlMs: 300, pollMs: 20 });
    const second = new RedisBlobDownloadLock(b, { prefix, ttlMs: 300, pollMs: 20 });
    const lease = await first.tryAcquire('sha256:one');
    expect(lease).not.toBeNull();
    expect(await second.tryAcquire('sha256:one')).toBeNull();
    expect(await second.tryAcquire('sha256:two')).not.toBeNull();
    // Well past the TTL: renewal keeps it.
    await sleep(800);
    expect(await raw.exists(`${prefix}:blob-download:sha256:one`)).toBe(1);
    let freed = false;
    const waiting = second.waitForRelease('sha256:one').then(() => (freed = true));
    await sleep(60);
    expect(freed).toBe(false);
    await lease?.release();
    await waiting;
    expect(await second.tryAcquire('sha256:one')).not.toBeNull();
  });

  it('frees a lock whose holder died once its TTL runs out', async () => {
    const lock = new RedisBlobDownloadLock(a, { prefix, pollMs: 20 });
    await raw.set(`${prefix}:blob-download:sha256:dead`, 'crashed-holder', 'PX', 200);
    const started = Date.now();
    await lock.waitForRelease('sha256:dead');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(await lock.tryAcquire('sha256:dead')).not.toBeNull();
  });

  it('never deletes a lock someone else holds now', async () => {
    const lock = new RedisBlobDownloadLock(a, { prefix, ttlMs: 5_000 });
    const lease = await lock.tryAcquire('sha256:taken-over');
    // Our lock expired and another replica took it.
    await raw.set(`${prefix}:blob-download:sha256:taken-over`, 'someone-else', 'PX', 5_000);
    await lease?.release();
    expect(await raw.get(`${prefix}:blob-download:sha256:taken-over`)).toBe('someone-else');
  });

  it('serialises downloadOnce across connections', async () => {
    const locks = [new RedisBlobDownloadLock(a, { prefix, pollMs: 10 }), new RedisBlobDownloadLock(b, { prefix, pollMs: 10 })];
    let stored = false;
    let downloads = 0;
    const outcomes = await Promise.all(
      locks.map((lock) =>
        downloadOnce(lock, 'sha256:shared', {
          isPresent: async () => stored,
          download: async () => {
            downloads++;
            await sleep(100);
            stored = true;
          },
        }),
      ),
    );
    expect(outcomes.sort()).toEqual(['downloaded', 'present']);
    expect(downloads).toBe(1);
  });
});
