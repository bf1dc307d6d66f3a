import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { DefaultJobOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DockerProgress, JobItem, JobName, JobPayload, JobResult, QueueName } from '@cargohold/queue-contracts';
import { DEFAULT_JOB_OPTIONS } from './job-defaults';
import { JobFailedError } from './job-failed-error';
import { parseJobPayload, queueOfJob } from './job-payload.util';
import { stderrQueueLogger } from './queue-logger';
import type { QueueLogger } from './queue-logger';

/** Redis pub/sub channel on which producers ask every worker host to cancel a job. */
export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel-job`;
}

export interface EnqueueOptions {
  /**
   * Idempotency key: enqueueing an id that already exists (waiting, running or finished and not
   * yet trimmed) adds nothing and refers to the existing job. BullMQ rejects ids that are all
   * digits or contain ':'.
   */
  jobId?: string;
  /** Milliseconds to wait before the job may run. */
  delay?: number;
  /**
   * follow only: when the caller aborts, cancel the job too (a build whose client disconnected):
   * a waiting job is removed, a running one has its handler's signal aborted on whichever worker
   * runs it, and it is not retried.
   */
  cancelOnAbort?: boolean;
}

export interface JobProducerOptions {
  /** BullMQ key prefix; every queue of one deployment shares it (AppConfig.queuePrefix). */
  prefix: string;
  /** Overrides of DEFAULT_JOB_OPTIONS (tests shorten the backoff). */
  jobDefaults?: DefaultJobOptions;
  logger?: QueueLogger;
}

/** A job as `follow` takes it: the name fixes the payload and the result type. */
export interface JobItemOf<N extends JobName> {
  name: N;
  data: JobPayload<N>;
}

/**
 * Repeat rule of a job scheduler: a fixed period or a cron pattern. A new `every` scheduler
 * fires at once unless `startDate` (epoch ms) puts its first job later; an existing one keeps
 * its slot when upserted again with the same period.
 */
export type ScheduleRule = { every: number; startDate?: number } | { pattern: string; tz?: string };

interface JobEventArgs {
  jobId: string;
  data?: unknown;
  returnvalue?: unknown;
  failedReason?: string;
}

/**
 * The producer side of every queue: typed, validated enqueueing, following a job's progress to
 * its result, and job schedulers. Shares one Redis connection (owned by the caller) for commands;
 * BullMQ opens one more per followed queue for its blocking event reads.
 */
export class JobProducer {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly events = new Map<QueueName, Promise<QueueEvents>>();
  private readonly jobDefaults: DefaultJobOptions;
  private readonly logger: QueueLogger;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly connection: Redis,
    private readonly options: JobProducerOptions,
  ) {
    this.jobDefaults = { ...DEFAULT_JOB_OPTIONS, ...options.jobDefaults };
    this.logger = options.logger ?? stderrQueueLogger;
  }

  /** Validates the payload against the contract, then adds the job. Returns the job id. */
  async enqueue(item: JobItem, options: EnqueueOptions = {}): Promise<string> {
    parseJobPayload(item.name, item.data);
    const job = await this.queueOf(queueOfJob(item.name)).add(item.name, item.data, this.jobOptions(options));
    return job.id as string;
  }

  /**
   * Enqueues a job and relays each of its progress events to `onProgress`, in order, until it
   * finishes. Resolves with the handler's result; rejects with JobFailedError (the handler's
   * message) when the job fails for good, or with `signal.reason` when the caller aborts (the job
   * itself keeps running).
   */
  async follow<N extends JobName>(
    item: JobItemOf<N>,
    onProgress: (event: DockerProgress) => void,
    signal?: AbortSignal,
    options: EnqueueOptions = {},
  ): Promise<JobResult<N>> {
    signal?.throwIfAborted();
    parseJobPayload(item.name, item.data);
    const queue = this.queueOf(queueOfJob(item.name));
    // The event reader starts at a stream position taken before this job exists, and the
    // listeners are attached before the job is added: no event of this job can be missed.
    const events = (await this.eventsOf(queue)) as EventEmitter;
    signal?.throwIfAborted();
    const jobId = options.jobId ?? randomUUID();

    return new Promise<JobResult<N>>((resolve, reject) => {
      let settled = false;
      const listeners: Record<string, (args: JobEventArgs) => void> = {
        [`progress:${jobId}`]: ({ data }) => {
          if (settled) return;
          try {
            onProgress(data as DockerProgress);
          } catch (error) {
            settle(() => reject(error));
          }
        },
        [`completed:${jobId}`]: ({ returnvalue }) => settle(() => resolve(returnvalue as JobResult<N>)),
        [`failed:${jobId}`]: ({ failedReason }) => settle(() => reject(new JobFailedError(jobId, item.name, failedReason))),
        [`removed:${jobId}`]: () =>
          settle(() => reject(new Error(`job ${jobId} (${item.name}) was removed from queue ${queue.name} before it finished`))),
      };
      const onAbort = (): void => {
        if (options.cancelOnAbort) void this.cancel(queue, jobId);
        settle(() => reject(signal?.reason));
      };
      function settle(finish: () => void): void {
        if (settled) return;
        settled = true;
        for (const [event, listener] of Object.entries(listeners)) events.off(event, listener);
        signal?.removeEventListener('abort', onAbort);
        finish();
      }
      for (const [event, listener] of Object.entries(listeners)) events.on(event, listener);
      signal?.addEventListener('abort', onAbort, { once: true });

      queue
        .add(item.name, item.data, this.jobOptions({ ...options, jobId }))
        .then(async () => {
          // A reused id may name a job that finished before we subscribed: read its outcome.
          // State first, then the job: once finished, its stored outcome no longer changes.
          if (options.jobId === undefined || settled) return;
          const state = await queue.getJobState(jobId);
          if (state !== 'completed' && state !== 'failed') return;
          const finished = await Job.fromId(queue, jobId);
          if (!finished) return;
          if (state === 'completed') settle(() => resolve(finished.returnvalue as JobResult<N>));
          else settle(() => reject(new JobFailedError(jobId, item.name, finished.failedReason)));
        })
        .catch((error: unknown) => settle(() => reject(error)));
    });
  }

  /**
   * Cancels a job wherever it is: removed if still waiting, its handler aborted (through every
   * worker host's cancel subscription) if running. Best effort: a job that already finished stays.
   */
  async cancel(queue: Queue, jobId: string): Promise<void> {
    await this.connection.publish(cancelChannel(this.options.prefix), jobId).catch((error: unknown) => this.logger.warn(`cancel ${jobId}: ${String(error)}`));
    // remove() refuses a locked (running) job: that one is reached through the channel above.
    await queue.remove(jobId).catch(() => undefined);
  }

  /**
   * Creates or updates the job scheduler `schedulerId`: BullMQ keeps exactly one pending job per
   * scheduler, so every replica may call this at boot and the job still fires once per period.
   */
  async schedule(schedulerId: string, rule: ScheduleRule, item: JobItem): Promise<void> {
    parseJobPayload(item.name, item.data);
    const { attempts, backoff, removeOnComplete, removeOnFail } = this.jobDefaults;
    await this.queueOf(queueOfJob(item.name)).upsertJobScheduler(schedulerId, rule, {
      name: item.name,
      data: item.data,
      opts: { attempts, backoff, removeOnComplete, removeOnFail },
    });
  }

  /**
   * Removes the job scheduler `schedulerId` of the queue `jobName` runs on, with its pending job
   * (a job already running finishes). Resolves false when there was no such scheduler.
   */
  async unschedule(schedulerId: string, jobName: JobName): Promise<boolean> {
    return this.queueOf(queueOfJob(jobName)).removeJobScheduler(schedulerId);
  }

  /** When the job scheduler `schedulerId` fires next (epoch ms); undefined when there is no such scheduler. */
  async nextRunOf(schedulerId: string, jobName: JobName): Promise<number | undefined> {
    const scheduler = await this.queueOf(queueOfJob(jobName)).getJobScheduler(schedulerId);
    return scheduler?.next;
  }

  /** The BullMQ queue behind a queue name (for inspection and tests). */
  queueOf(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      if (this.closing) throw new Error(`job producer is closed; cannot use queue ${name}`);
      queue = new Queue(name, { connection: this.connection, prefix: this.options.prefix, defaultJobOptions: this.jobDefaults });
      queue.on('error', (error) => this.logger.error(`queue ${name}: ${error.message}`));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Stops event readers and queues. The shared Redis connection stays open (its owner closes it). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const readers = await Promise.allSettled(this.events.values());
      for (const reader of readers) if (reader.status === 'fulfilled') await reader.value.close();
      await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    })();
    return this.closing;
  }

  private jobOptions(options: EnqueueOptions): { jobId?: string; delay?: number } {
    return { jobId: options.jobId, delay: options.delay };
  }

  private eventsOf(queue: Queue): Promise<QueueEvents> {
    const name = queue.name as QueueName;
    let reader = this.events.get(name);
    if (!reader) {
      reader = this.openEvents(queue);
      this.events.set(name, reader);
      reader.catch(() => this.events.delete(name));
    }
    return reader;
  }

  private async openEvents(queue: Queue): Promise<QueueEvents> {
    // Start after the newest existing event rather than at '$' (which means "whenever the first
    // XREAD reaches Redis"), so events written after this call are read even if that XREAD is late.
    const [newest] = await this.connection.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
    const reader = new QueueEvents(queue.name, {
      connection: this.connection,
      prefix: this.options.prefix,
      lastEventId: newest ? newest[0] : '0-0',
    });
    reader.on('error', (error) => this.logger.error(`queue ${queue.name} events: ${error.message}`));
    await reader.waitUntilReady();
    return reader;
  }
}
