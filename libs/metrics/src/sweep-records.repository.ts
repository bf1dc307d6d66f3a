import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { REDIS_CONNECTION } from '@cargohold/platform';
import { JobProducer } from '@cargohold/queue';
import { JobName, QueueName } from '@cargohold/queue-contracts';
import { newestSweep, sweepOfJobResult, sweepOfRunReport } from './sweep-record.util';
import type { SweepRecord } from './sweep-record.util';

/** The gc queue keeps at most this many completed jobs (DEFAULT_JOB_OPTIONS.removeOnComplete). */
const RETAINED_COMPLETED_JOBS = 1_000;
const SWEEPING_JOBS: ReadonlySet<string> = new Set([JobName.Sweep, JobName.ScheduledPrune]);

// Every prune run records its report; only those of schedules that sweep for real hold a sweep.
const SCHEDULED_SWEEPS_SQL = `SELECT finished_at, report FROM prune_run
  WHERE status = 'succeeded' AND finished_at IS NOT NULL AND report LIKE '%"sweep":%' AND report LIKE '%"dryRun":false%'
  ORDER BY finished_at DESC LIMIT 10`;

/**
 * Where the results of gc sweeps are kept, and so where the last one can be found:
 *
 * - `prune_run.report` (SQL): every run of a prune schedule, with its sweep when the schedule
 *   sweeps; the newest 100 runs of each schedule are kept;
 * - the gc queue's completed jobs (Redis): the result of every `sweep.v1` job (sweeps asked for
 *   through `POST /api/v1/gc/sweep`) and `prune.scheduled.v1` job, kept 24 h and at most the
 *   newest 1,000 completed gc jobs.
 *
 * A sweep older than both (an API sweep more than a day ago) is found nowhere: it was only logged.
 */
@Injectable()
export class SweepRecordsRepository {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(JobProducer) private readonly producer: JobProducer,
    @Inject(REDIS_CONNECTION) private readonly redis: Redis,
  ) {}

  /** The sweep (not a dry run) that finished last, of those still recorded; undefined when none is. */
  async lastSweep(): Promise<SweepRecord | undefined> {
    if (this.redis.status !== 'ready') throw new Error(`Redis connection ${this.redis.status}`);
    const [scheduled, queued] = await Promise.all([this.lastScheduledSweep(), this.lastRetainedSweep()]);
    return newestSweep([scheduled, queued]);
  }

  private async lastScheduledSweep(): Promise<SweepRecord | undefined> {
    const rows = (await this.dataSource.query(SCHEDULED_SWEEPS_SQL)) as Array<{ finished_at: string | number; report: string }>;
    for (const row of rows) {
      const result = sweepOfRunReport(row.report);
      if (result) return { finishedAt: Number(row.finished_at), result };
    }
    return undefined;
  }

  private async lastRetainedSweep(): Promise<SweepRecord | undefined> {
    const queue = this.producer.queueOf(QueueName.Gc);
    // Scored by finish time: newest first.
    const flat = await this.redis.zrevrange(queue.keys.completed, 0, RETAINED_COMPLETED_JOBS - 1, 'WITHSCORES');
    const jobs: Array<{ id: string; finishedAt: number }> = [];
    for (let i = 0; i < flat.length; i += 2) jobs.push({ id: flat[i], finishedAt: Number(flat[i + 1]) });
    if (!jobs.length) return undefined;
    // Names first (a few bytes each); results (a prune's can be large) only of jobs that may hold a sweep.
    const names = await this.redis.pipeline(jobs.map((job) => ['hget', queue.toKey(job.id), 'name'])).exec();
    for (const [i, job] of jobs.entries()) {
      const name = names?.[i]?.[1];
      if (typeof name !== 'string' || !SWEEPING_JOBS.has(name)) continue;
      const result = sweepOfJobResult(name, await this.redis.hget(queue.toKey(job.id), 'returnvalue'));
      if (result) return { finishedAt: job.finishedAt, result };
    }
    return undefined;
  }
}
