import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobEntity, BuildCacheEntity, ContainerEntity, openDatabase, PruneRunEntity, PruneScheduleEntity } from '@cargohold/db';
import { ImageCommitService, ImageReferencesRepository } from '@cargohold/image-store';
import { parseReference, sha256Of } from '@cargohold/oci';
import { createRedisConnection, JobProducer } from '@cargohold/queue';
import { JobName, QueueName } from '@cargohold/queue-contracts';
import type { SweepResult } from '@cargohold/queue-contracts';
import { ALL_BLOBS_PRESENT, clearRedisPrefix, TEST_DIALECTS, testRedisUrl, uniquePrefix } from '@cargohold/testing';
import { QueueCountsRepository } from './queue-counts.repository';
import { StoreCountsRepository } from './store-counts.repository';
import { SweepRecordsRepository } from './sweep-records.repository';

const sweepResult = (blobsDeleted: number, dryRun = false): SweepResult => ({
  dryRun,
  blobsScanned: 100,
  blobsKept: 100 - blobsDeleted,
  blobsDeleted,
  bytesFreed: blobsDeleted * 1_000,
  manifestsDeleted: 0,
  durationMs: 250,
});

/** A one-image commit: `layers` are [digest, size] of layer blobs; the config and manifest are made up from `seed`. */
function image(seed: string, layers: Array<[string, number]>, options: { tag?: string; parentId?: string } = {}) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed, rootfs: { type: 'layers', diff_ids: layers.map(([d]) => d) } }));
  const descriptor = (mediaType: string, digest: string, size: number) => ({ mediaType, digest, size });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: descriptor('application/vnd.oci.image.config.v1+json', sha256Of(config), config.length),
      layers: layers.map(([digest, size]) => descriptor('application/vnd.oci.image.layer.v1.tar', digest, size)),
    }),
  );
  const ref = options.tag ? parseReference(options.tag) : undefined;
  return {
    config: { digest: sha256Of(config), bytes: config },
    manifest: { digest: sha256Of(manifest), mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: manifest },
    layers: layers.map(([digest, size]) => ({ digest, size, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId: digest, contentSize: size })),
    parentId: options.parentId ?? null,
    tags: ref ? [{ ...ref, tag: ref.tag ?? 'latest' }] : [],
  };
}

describe.each(TEST_DIALECTS)('cluster state sources on $name', ({ open }) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let redis: Redis;
  let producer: JobProducer;
  const prefix = uniquePrefix('metrics');

  beforeAll(async () => {
    const db = await open();
    cleanup = db.cleanup;
    ds = await openDatabase(db.settings);
    redis = createRedisConnection(testRedisUrl(), 'metrics-test');
    producer = new JobProducer(redis, { prefix });
    await redis.ping();
  });

  afterAll(async () => {
    await producer?.close();
    await clearRedisPrefix(testRedisUrl(), prefix);
    await redis?.quit();
    await ds?.destroy();
    await cleanup?.();
  });

  it('counts images (tagged, dangling, intermediate), layer and config blobs, build cache entries and containers', async () => {
    const store = new StoreCountsRepository(ds);
    expect(await store.counts()).toEqual({ images: 0, taggedImages: 0, danglingImages: 0, blobs: 0, blobBytes: 0, buildCacheEntries: 0, containers: 0 });

    const commits = new ImageCommitService(ds, new ImageReferencesRepository(ds), ALL_BLOBS_PRESENT);
    const base = sha256Of('base layer');
    const top = sha256Of('top layer');
    const a = image('a', [[base, 1_000]], { tag: 'base:1' });
    const b = image('b', [[base, 1_000]], { parentId: a.config.digest });
    const c = image('c', [[base, 1_000], [top, 500]], { tag: 'team/app:1', parentId: b.config.digest });
    const d = image('d', [[base, 1_000]]);
    for (const img of [a, b, c, d]) await commits.commit(img);
    // A second tag on one image counts it once.
    await commits.commit({ ...c, tags: [{ ...parseReference('team/app:latest'), tag: 'latest' }] });
    // What a sweep leaves: a row for a manifest object (not a layer or config), and a tombstone.
    await ds.manager.insert(BlobEntity, [
      { digest: a.manifest.digest, size: a.manifest.bytes.length, createdAt: 0, deletingAt: null },
      { digest: sha256Of('being deleted'), size: 77, createdAt: 0, deletingAt: Date.now() },
    ]);
    await ds.manager.insert(BuildCacheEntity, [1, 2, 3].map((i) => ({ key: sha256Of(`step ${i}`), imageId: c.config.digest, createdAt: i, lastUsedAt: i })));
    await ds.manager.insert(ContainerEntity, {
      id: 'f'.repeat(64),
      name: 'web',
      image: 'team/app:1',
      imageId: c.config.digest,
      config: '{}',
      hostConfig: '{}',
      platform: 'linux/amd64',
      createdAt: Date.now(),
    });

    const configBytes = [a, b, c, d].reduce((sum, img) => sum + img.config.bytes.length, 0);
    expect(await store.counts()).toEqual({
      images: 4,
      // a (base:1) and c (team/app:1, team/app:latest).
      taggedImages: 2,
      // d only: b has no tag but c is built on it (an intermediate image), a and c are tagged.
      danglingImages: 1,
      // Four configs and two layers; the manifest row and the tombstone are not counted.
      blobs: 6,
      blobBytes: configBytes + 1_000 + 500,
      buildCacheEntries: 3,
      containers: 1,
    });
  });

  it('counts the jobs of every queue by state', async () => {
    const queues = new QueueCountsRepository(producer, redis);
    const empty = await queues.counts();
    expect(Object.keys(empty).sort()).toEqual(Object.values(QueueName).sort());
    for (const queue of Object.values(QueueName)) expect(Object.values(empty[queue]).every((n) => n === 0)).toBe(true);

    await producer.enqueue({ name: JobName.ExpireStaging, data: { olderThanSeconds: 60 } }, { delay: 60_000 });
    await producer.enqueue({ name: JobName.Sweep, data: { graceSeconds: 60, dryRun: true } });
    const counts = await queues.counts();
    expect(counts.gc).toMatchObject({ delayed: 1, waiting: 1, active: 0, completed: 0, failed: 0 });
    expect(counts.builder.waiting).toBe(0);
    await producer.queueOf(QueueName.Gc).obliterate({ force: true });
  });

  it('finds the last sweep that ran for real, in prune schedule runs or in the retained gc jobs, whichever finished last', async () => {
    const sweeps = new SweepRecordsRepository(ds, producer, redis);
    expect(await sweeps.lastSweep()).toBeUndefined();

    // Finished gc jobs, oldest first: a real sweep, a scheduled prune that swept, then a dry run and other jobs.
    const gc = producer.queueOf(QueueName.Gc);
    const workerConnection = redis.duplicate();
    const worker = new Worker(QueueName.Gc, async (job) => (job.data as { result: unknown }).result, { connection: workerConnection, prefix });
    const finished: number[] = [];
    const complete = async (name: string, result: unknown): Promise<void> => {
      const job = await gc.add(name, { result });
      for (let i = 0; (await gc.getJobState(job.id!)) !== 'completed'; i++) {
        if (i > 500) throw new Error(`job ${name} did not complete`);
        await sleep(10);
      }
      finished.push((await gc.getJob(job.id!))!.finishedOn!);
      await sleep(5);
    };
    try {
      await complete(JobName.Sweep, sweepResult(3));
      await complete(JobName.ScheduledPrune, { scheduleId: 'x', prune: { ImagesDeleted: [], CachesDeleted: [], SpaceReclaimed: 0, dryRun: false }, sweep: sweepResult(5) });
      await complete(JobName.Sweep, sweepResult(9, true));
      await complete(JobName.ExpireStaging, { removed: 2, bytes: 10 });
      await complete(JobName.Prune, { ImagesDeleted: [], CachesDeleted: [], SpaceReclaimed: 0, dryRun: false });
    } finally {
      await worker.close();
      await workerConnection.quit();
    }
    expect(await sweeps.lastSweep()).toEqual({ finishedAt: finished[1], result: sweepResult(5) });

    // Prune schedule runs: a newer real one wins; newer dry runs and failures do not count.
    const scheduleId = randomUUID();
    await ds.manager.insert(PruneScheduleEntity, {
      id: scheduleId,
      name: 'nightly',
      cron: '0 3 * * *',
      everySeconds: null,
      timezone: null,
      options: '{}',
      sweep: true,
      sweepGraceSeconds: 3600,
      dryRun: false,
      enabled: true,
      createdAt: 0,
      updatedAt: 0,
    });
    const now = Date.now();
    const run = (finishedAt: number, status: 'succeeded' | 'failed', sweep?: SweepResult) => ({
      id: randomUUID(),
      scheduleId,
      startedAt: finishedAt - 1_000,
      finishedAt,
      status,
      report: status === 'succeeded' ? JSON.stringify({ scheduleId, prune: { ImagesDeleted: [], CachesDeleted: [], SpaceReclaimed: 0, dryRun: sweep?.dryRun ?? false }, ...(sweep ? { sweep } : {}) }) : null,
      error: status === 'failed' ? 'boom' : null,
    });
    await ds.manager.insert(PruneRunEntity, [
      run(now + 60_000, 'succeeded', sweepResult(7)),
      run(now + 120_000, 'succeeded', sweepResult(8, true)),
      run(now + 180_000, 'failed'),
      run(now + 240_000, 'succeeded'),
    ]);
    expect(await sweeps.lastSweep()).toEqual({ finishedAt: now + 60_000, result: sweepResult(7) });

    // Once the gc queue has trimmed its jobs, the schedule runs still answer.
    await gc.obliterate({ force: true });
    expect(await sweeps.lastSweep()).toEqual({ finishedAt: now + 60_000, result: sweepResult(7) });
    await ds.manager.clear(PruneRunEntity);
    expect(await sweeps.lastSweep()).toBeUndefined();
  });
});
