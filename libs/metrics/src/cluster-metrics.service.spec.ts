import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ClusterMetricsService } from './cluster-metrics.service';
import type { QueueCounts, QueueCountsRepository } from './queue-counts.repository';
import type { StoreCounts, StoreCountsRepository } from './store-counts.repository';
import type { SweepRecord } from './sweep-record.util';
import type { SweepRecordsRepository } from './sweep-records.repository';

const COUNTS: StoreCounts = { images: 12, taggedImages: 9, danglingImages: 2, blobs: 40, blobBytes: 1_234_567_890, buildCacheEntries: 7, containers: 3 };
const STATES = { waiting: 1, prioritized: 0, delayed: 2, active: 1, 'waiting-children': 0, completed: 50, failed: 4 };
const QUEUES: QueueCounts = { puller: STATES, builder: { ...STATES, active: 2 }, gc: { ...STATES, delayed: 1 } };
const SWEEP: SweepRecord = {
  finishedAt: 1_767_225_600_123,
  result: { dryRun: false, blobsScanned: 100, blobsKept: 90, blobsDeleted: 10, bytesFreed: 52_428_800, manifestsDeleted: 1, durationMs: 1_500 },
};

interface Fakes {
  counts?: () => Promise<StoreCounts>;
  queues?: () => Promise<QueueCounts>;
  lastSweep?: () => Promise<SweepRecord | undefined>;
}

/** The service over fakes of its three repositories, with its gauges in a registry of their own. */
function service(fakes: Fakes = {}): { registry: Registry; cluster: ClusterMetricsService } {
  const registry = new Registry();
  const cluster = new ClusterMetricsService(
    registry,
    { counts: fakes.counts ?? (async () => COUNTS) } as StoreCountsRepository,
    { counts: fakes.queues ?? (async () => QUEUES) } as QueueCountsRepository,
    { lastSweep: fakes.lastSweep ?? (async () => SWEEP) } as SweepRecordsRepository,
  );
  return { registry, cluster };
}

/** `name{labels} value` lines of the exposition, without HELP and TYPE. */
async function samples(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('ClusterMetricsService', () => {
  it('reports the store counts, every queue state and the last sweep', async () => {
    const { registry, cluster } = service();
    await cluster.update();
    const lines = await samples(registry);
    expect(lines).toEqual(
      expect.arrayContaining([
        'cargohold_images 12',
        'cargohold_images_tagged 9',
        'cargohold_images_dangling 2',
        'cargohold_blobs 40',
        'cargohold_blob_bytes 1234567890',
        'cargohold_build_cache_entries 7',
        'cargohold_containers 3',
        'cargohold_queue_jobs{queue="builder",state="active"} 2',
        'cargohold_queue_jobs{queue="gc",state="delayed"} 1',
        'cargohold_queue_jobs{queue="puller",state="completed"} 50',
        'cargohold_gc_last_sweep_timestamp_seconds 1767225600.123',
        'cargohold_gc_last_sweep_deleted_blobs 10',
        'cargohold_gc_last_sweep_freed_bytes 52428800',
        'cargohold_gc_last_sweep_duration_seconds 1.5',
        'cargohold_metrics_source_up{source="database"} 1',
        'cargohold_metrics_source_up{source="queues"} 1',
        'cargohold_metrics_source_up{source="gc"} 1',
      ]),
    );
    expect(lines.filter((line) => line.startsWith('cargohold_queue_jobs{'))).toHaveLength(3 * 7);
  });

  it('leaves out the series of a source that fails, marks it down, and keeps the others', async () => {
    const { registry, cluster } = service({
      counts: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
    });
    await cluster.update();
    const lines = await samples(registry);
    expect(lines.filter((line) => /^cargohold_(images|blobs|blob_bytes|build_cache_entries|containers)/.test(line))).toEqual([]);
    expect(lines).toContain('cargohold_metrics_source_up{source="database"} 0');
    expect(lines).toContain('cargohold_metrics_source_up{source="queues"} 1');
    expect(lines).toContain('cargohold_queue_jobs{queue="puller",state="waiting"} 1');
    expect(lines).toContain('cargohold_gc_last_sweep_deleted_blobs 10');
  });

  it('has no last-sweep samples when no sweep is recorded, rather than zeros', async () => {
    const { registry, cluster } = service({ lastSweep: async () => undefined });
    await cluster.update();
    const lines = await samples(registry);
    expect(lines.filter((line) => line.startsWith('cargohold_gc_last_sweep'))).toEqual([]);
    expect(lines).toContain('cargohold_metrics_source_up{source="gc"} 1');
  });

  it('drops the queue series while Redis fails and brings them back at the next scrape once it answers', async () => {
    let redisUp = false;
    const { registry, cluster } = service({
      queues: async () => {
        if (!redisUp) throw new Error('Redis connection reconnecting');
        return QUEUES;
      },
    });
    await cluster.update();
    expect((await samples(registry)).filter((line) => line.startsWith('cargohold_queue_jobs{'))).toEqual([]);
    expect(await samples(registry)).toContain('cargohold_metrics_source_up{source="queues"} 0');
    redisUp = true;
    await cluster.update();
    expect((await samples(registry)).filter((line) => line.startsWith('cargohold_queue_jobs{'))).toHaveLength(21);
    expect(await samples(registry)).toContain('cargohold_metrics_source_up{source="queues"} 1');
  });
});
