import { Inject, Injectable, Logger } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { QueueName } from '@cargohold/queue-contracts';
import { CachedSource } from './cached-source.util';
import type { SourceReading } from './cached-source.util';
import { JOB_STATES, QueueCountsRepository } from './queue-counts.repository';
import type { QueueCounts } from './queue-counts.repository';
import { StoreCountsRepository } from './store-counts.repository';
import type { StoreCounts } from './store-counts.repository';
import { SweepRecordsRepository } from './sweep-records.repository';
import type { SweepRecord } from './sweep-record.util';

/** Scrape-time sources of cluster state, as the `source` label names them. */
export type StateSource = 'database' | 'queues' | 'gc';

/** A source's value is reused this long; state changes show within it. */
export const STATE_TTL_MS = 5_000;
/** A scrape waits this long for a source, then reports it down (Prometheus' default scrape timeout is 10 s). */
export const STATE_BUDGET_MS = 2_000;

type StoreGauge = keyof StoreCounts;

const STORE_GAUGES: Record<StoreGauge, { name: string; help: string }> = {
  images: { name: 'cargohold_images', help: 'Images in the store, each ID once (the IDs docker image ls -a lists).' },
  taggedImages: { name: 'cargohold_images_tagged', help: 'Images at least one tag names.' },
  danglingImages: { name: 'cargohold_images_dangling', help: 'Images without a tag that no other image is built on (docker image ls --filter dangling=true); docker image prune removes these.' },
  blobs: { name: 'cargohold_blobs', help: 'Layer and config blobs in the blob store (manifests not counted), excluding those a gc sweep is deleting.' },
  blobBytes: { name: 'cargohold_blob_bytes', help: 'Total size of those blobs in bytes, as stored (compressed layers count compressed).' },
  buildCacheEntries: { name: 'cargohold_build_cache_entries', help: 'Build cache entries (one per cached build step), shared by every builder.' },
  containers: { name: 'cargohold_containers', help: 'Container records (docker create); each pins its image.' },
};

/**
 * The cluster view every gateway replica reports alike: counts from the shared database, job
 * counts from the shared Redis, the last gc sweep from where sweeps are recorded. Read at
 * scrape time through CachedSource (reused for STATE_TTL_MS, waited on for at most
 * STATE_BUDGET_MS); a source that fails or is late has its series left out of that scrape and
 * `cargohold_metrics_source_up{source}` at 0, rather than an old value passed off as current.
 */
@Injectable()
export class ClusterMetricsService {
  private readonly logger = new Logger('Metrics');
  private readonly sources: { database: CachedSource<StoreCounts>; queues: CachedSource<QueueCounts>; gc: CachedSource<SweepRecord | undefined> };
  private readonly down = new Set<StateSource>();
  private readonly store: Record<StoreGauge, Gauge>;
  private readonly queueJobs: Gauge<'queue' | 'state'>;
  private readonly lastSweep: { timestamp: Gauge; deletedBlobs: Gauge; freedBytes: Gauge; duration: Gauge };
  private readonly sourceUp: Gauge<'source'>;
  private readonly sourceLoad: Gauge<'source'>;

  constructor(
    @Inject(Registry) registry: Registry,
    @Inject(StoreCountsRepository) storeCounts: StoreCountsRepository,
    @Inject(QueueCountsRepository) queueCounts: QueueCountsRepository,
    @Inject(SweepRecordsRepository) sweepRecords: SweepRecordsRepository,
  ) {
    const options = { ttlMs: STATE_TTL_MS, budgetMs: STATE_BUDGET_MS };
    this.sources = {
      database: new CachedSource(() => storeCounts.counts(), options),
      queues: new CachedSource(() => queueCounts.counts(), options),
      gc: new CachedSource(() => sweepRecords.lastSweep(), options),
    };
    const gauge = <L extends string = never>(name: string, help: string, labelNames: L[] = []): Gauge<L> =>
      new Gauge<L>({ name, help, labelNames, registers: [registry] });

    this.store = Object.fromEntries(
      Object.entries(STORE_GAUGES).map(([key, { name, help }]) => [key, gauge(name, help)]),
    ) as Record<StoreGauge, Gauge>;
    this.queueJobs = gauge('cargohold_queue_jobs', 'Jobs in each BullMQ queue by state; completed and failed count the finished jobs still retained (24 h / 1,000 and 7 d / 5,000), not all that ever ran.', ['queue', 'state']);
    this.lastSweep = {
      timestamp: gauge('cargohold_gc_last_sweep_timestamp_seconds', 'When the last gc sweep (not a dry run) still recorded finished, Unix time; absent when none is recorded.'),
      deletedBlobs: gauge('cargohold_gc_last_sweep_deleted_blobs', 'Blobs the last recorded gc sweep deleted.'),
      freedBytes: gauge('cargohold_gc_last_sweep_freed_bytes', 'Bytes the last recorded gc sweep freed.'),
      duration: gauge('cargohold_gc_last_sweep_duration_seconds', 'How long the last recorded gc sweep ran.'),
    };
    this.sourceUp = gauge('cargohold_metrics_source_up', '1 when the scrape read this source of cluster state (database, queues, gc) in time, else 0 and its series are left out.', ['source']);
    this.sourceLoad = gauge('cargohold_metrics_source_load_seconds', 'How long the last read of this source of cluster state took.', ['source']);
  }

  /** Reads every source (concurrently, each time-boxed) and sets the gauges from what came back. */
  async update(): Promise<void> {
    const [database, queues, gc] = await Promise.all([this.sources.database.read(), this.sources.queues.read(), this.sources.gc.read()]);
    this.applyStore(this.track('database', database));
    this.applyQueues(this.track('queues', queues));
    this.applySweep(this.track('gc', gc));
  }

  private track<T>(source: StateSource, reading: SourceReading<T>): SourceReading<T> {
    this.sourceUp.set({ source }, reading.ok ? 1 : 0);
    const loadMs = this.sources[source].lastLoadDurationMs;
    if (loadMs !== undefined) this.sourceLoad.set({ source }, loadMs / 1000);
    // One line when a source goes down and one when it is back, not one per scrape.
    if (!reading.ok && !this.down.has(source)) this.logger.warn(`cluster state from ${source} unavailable: ${reading.error}`);
    if (reading.ok && this.down.has(source)) this.logger.log(`cluster state from ${source} available again`);
    if (reading.ok) this.down.delete(source);
    else this.down.add(source);
    return reading;
  }

  private applyStore(reading: SourceReading<StoreCounts>): void {
    for (const [key, gauge] of Object.entries(this.store) as Array<[StoreGauge, Gauge]>) setOrOmit(gauge, reading.ok ? reading.value[key] : undefined);
  }

  private applyQueues(reading: SourceReading<QueueCounts>): void {
    this.queueJobs.reset();
    if (!reading.ok) return;
    for (const queue of Object.values(QueueName)) {
      for (const state of JOB_STATES) this.queueJobs.set({ queue, state }, reading.value[queue][state]);
    }
  }

  private applySweep(reading: SourceReading<SweepRecord | undefined>): void {
    const sweep = reading.ok ? reading.value : undefined;
    setOrOmit(this.lastSweep.timestamp, sweep && sweep.finishedAt / 1000);
    setOrOmit(this.lastSweep.deletedBlobs, sweep?.result.blobsDeleted);
    setOrOmit(this.lastSweep.freedBytes, sweep?.result.bytesFreed);
    setOrOmit(this.lastSweep.duration, sweep && sweep.result.durationMs / 1000);
  }
}

/** Sets an unlabelled gauge, or leaves it without a sample (prom-client would report 0). */
function setOrOmit(gauge: Gauge, value: number | undefined): void {
  if (value === undefined) gauge.remove({});
  else gauge.set(value);
}
