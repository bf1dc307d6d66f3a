import { UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Job, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { failureProgress } from '@cargohold/queue-contracts';
import type { DockerProgress, JobsOfQueue, QueueName } from '@cargohold/queue-contracts';
import { HandlerRegistry } from './handler-registry';
import { cancelChannel } from './job-producer';
import type { JobContext, JobHandler } from './job-handler';
import { InvalidJobPayloadError, isJobName, parseJobPayload } from './job-payload.util';
import { PermanentJobError } from './permanent-job-error';
import { stderrQueueLogger } from './queue-logger';
import type { QueueLogger } from './queue-logger';

export interface WorkerHostOptions {
  /** BullMQ key prefix (AppConfig.queuePrefix). */
  prefix: string;
  /** Jobs this process runs at once (AppConfig.jobConcurrency). */
  concurrency: number;
  logger?: QueueLogger;
  /** BullMQ timing knobs, for tests; stalled-job recovery stays on whatever is passed. */
  tuning?: Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'drainDelay'>;
}

type HostState = 'registering' | 'running' | 'closed';

/**
 * The one consumer of a queue in this process. Feature modules `register` a handler per job
 * name while the app wires up; `start` refuses to run unless every job the contracts route to
 * this queue has one, then routes each job by name, validating its payload first.
 */
export class WorkerHost<Q extends QueueName = QueueName> {
  private readonly registry: HandlerRegistry<Q>;
  private readonly shutdown = new AbortController();
  private readonly logger: QueueLogger;
  private worker: Worker | undefined;
  /** Subscribed to the cancel channel while the worker runs. */
  private subscriber: Redis | undefined;
  /** Jobs a producer cancelled while this host ran them: they fail without retries. */
  private readonly cancelled = new Set<string>();
  private state: HostState = 'registering';
  private closing: Promise<void> | undefined;

  constructor(
    readonly queue: Q,
    private readonly connection: Redis,
    private readonly options: WorkerHostOptions,
  ) {
    this.registry = new HandlerRegistry(queue);
    this.logger = options.logger ?? stderrQueueLogger;
  }

  /** Adds the handler of one job; throws on a second handler or a job of another queue. */
  register<N extends JobsOfQueue<Q>>(name: N, handler: JobHandler<N>): void {
    if (this.state !== 'registering') throw new Error(`queue ${this.queue}: cannot register ${name} after the worker started`);
    this.registry.register(name, handler);
  }

  /** Checks that every job of the queue has a handler, then starts consuming. */
  async start(): Promise<void> {
    if (this.state !== 'registering') throw new Error(`queue ${this.queue}: worker already started`);
    this.registry.assertComplete();
    this.state = 'running';
    const worker = new Worker(this.queue, (job: Job, token?: string, signal?: AbortSignal) => this.process(job, token, signal), {
      ...this.options.tuning,
      connection: this.connection,
      prefix: this.options.prefix,
      concurrency: this.options.concurrency,
      autorun: false,
    });
    worker.on('error', (error) => this.logger.error(`queue ${this.queue}: ${error.message}`));
    worker.on('failed', (job, error) => {
      if (job) this.logger.warn(`queue ${this.queue}: job ${job.id} (${job.name}) attempt ${job.attemptsMade} failed: ${error.message}`);
    });
    worker.on('stalled', (jobId) => this.logger.warn(`queue ${this.queue}: job ${jobId} stalled and will be run again`));
    this.worker = worker;
    await this.subscribeToCancels(worker);
    worker.run().catch((error: unknown) => this.logger.error(`queue ${this.queue}: worker stopped: ${String(error)}`));
    await worker.waitUntilReady();
  }

  /** Aborts running handlers (their jobs go back to waiting), waits for them, disconnects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closed';
      // Stop fetching first, then interrupt what runs; close() resolves once those jobs let go.
      const closed = this.worker?.close();
      this.shutdown.abort(new Error(`worker of queue ${this.queue} is shutting down`));
      await closed;
      await this.subscriber?.quit().catch(() => undefined);
    })();
    return this.closing;
  }

  private async process(job: Job, token: string | undefined, lockSignal: AbortSignal | undefined): Promise<unknown> {
    // A fetch already in flight when close() began can still hand us a job: give it straight back.
    if (this.shutdown.signal.aborted && token && (await this.requeue(job, token))) throw new WaitingError();
    // Unknown names (another queue's job, a version this build predates) fail at once: a retry would too.
    const handler = isJobName(job.name) ? this.registry.get(job.name) : undefined;
    if (!handler || !isJobName(job.name)) throw new PermanentJobError(`queue ${this.queue}: no handler for job ${job.name}`);
    let data: unknown;
    try {
      data = parseJobPayload(job.name, job.data);
    } catch (error) {
      if (error instanceof InvalidJobPayloadError) throw new PermanentJobError(error.message, { cause: error });
      throw error;
    }
    const context: JobContext = {
      jobId: job.id as string,
      attempt: job.attemptsMade + 1,
      signal: lockSignal ? AbortSignal.any([this.shutdown.signal, lockSignal]) : this.shutdown.signal,
      progress: (event: DockerProgress) => job.updateProgress(event),
    };
    try {
      return await handler(data, context);
    } catch (error) {
      // Interrupted by our own shutdown, not by the job: hand it back without spending an attempt.
      if (this.shutdown.signal.aborted && token && (await this.requeue(job, token))) throw new WaitingError();
      if (this.cancelled.has(context.jobId)) throw new UnrecoverableError(`job ${context.jobId} (${job.name}) was cancelled`);
      if (error instanceof PermanentJobError) await context.progress(failureProgress(error.status, error.message)).catch(() => undefined);
      throw error instanceof Error ? error : new Error(String(error));
    }
  }

  /** A producer's cancel reaches the host running the job, whichever replica that is. */
  private async subscribeToCancels(worker: Worker): Promise<void> {
    const subscriber = this.connection.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', (error) => this.logger.error(`queue ${this.queue} cancel subscription: ${error.message}`));
    subscriber.on('message', (_channel: string, jobId: string) => {
      // cancelJob is false for jobs this worker does not run: nothing to do here then.
      if (worker.cancelJob(jobId, 'cancelled by its client')) {
        this.cancelled.add(jobId);
        setTimeout(() => this.cancelled.delete(jobId), 60_000).unref();
      }
    });
    await subscriber.subscribe(cancelChannel(this.options.prefix));
  }

  /** Moves an active job of ours back to waiting; false when the lock is gone (a retry path takes over). */
  private requeue(job: Job, token: string): Promise<boolean> {
    return job.moveToWait(token).then(
      () => true,
      () => false,
    );
  }
}
