import type { JobName, JobsOfQueue, QueueName } from '@cargohold/queue-contracts';
import type { JobContext, JobHandler } from './job-handler';
import { jobsOfQueue, queueOfJob } from './job-payload.util';

type AnyHandler = (data: unknown, context: JobContext) => Promise<unknown>;

/**
 * The handlers of one queue. Registration rejects duplicates and jobs of other queues at once;
 * `assertComplete` rejects a queue with a contract job nobody handles, so a worker never boots
 * into failing every job of a kind.
 */
export class HandlerRegistry<Q extends QueueName> {
  private readonly handlers = new Map<JobName, AnyHandler>();

  constructor(readonly queue: Q) {}

  register<N extends JobsOfQueue<Q>>(name: N, handler: JobHandler<N>): void {
    const owner = queueOfJob(name);
    if (owner !== this.queue) {
      throw new Error(`queue ${this.queue}: job ${name} belongs to queue ${owner}; register it on that queue's worker`);
    }
    if (this.handlers.has(name)) {
      throw new Error(`queue ${this.queue}: a handler for job ${name} is already registered`);
    }
    this.handlers.set(name, handler as unknown as AnyHandler);
  }

  get(name: JobName): AnyHandler | undefined {
    return this.handlers.get(name);
  }

  /** Job names of this queue's contract, in table order. */
  get jobNames(): JobName[] {
    return jobsOfQueue(this.queue);
  }

  assertComplete(): void {
    const missing = this.jobNames.filter((name) => !this.handlers.has(name));
    if (missing.length > 0) {
      throw new Error(`queue ${this.queue}: no handler for job ${missing.join(', ')}`);
    }
  }
}
