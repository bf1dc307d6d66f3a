import type { JobContext } from '@cargohold/queue';
import type { DockerProgress } from '@cargohold/queue-contracts';

/**
 * Sends a job's progress lines in call order without making every caller wait for each one
 * (a download's byte counter reports from a synchronous callback). Remembers whether anything
 * was sent: a failure before the first line is answered as a plain HTTP error, as by dockerd.
 */
export class ProgressReporter {
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private sent = false;

  constructor(private readonly ctx: Pick<JobContext, 'progress'>) {}

  /** True once a line has been handed over. */
  get started(): boolean {
    return this.sent;
  }

  /** Queues a line; the promise settles when it (and every line before it) has been delivered. */
  send(event: DockerProgress): Promise<void> {
    this.sent = true;
    const next = this.tail.then(() => this.ctx.progress(event));
    this.tail = next.catch((error: unknown) => {
      this.failure ??= error;
    });
    return next;
  }

  /** Queues a line from a synchronous callback; a delivery failure surfaces at flush(). */
  post(event: DockerProgress): void {
    this.send(event).catch(() => undefined);
  }

  /** Waits for every queued line, ignoring delivery failures (before reporting a failure of the job). */
  async settle(): Promise<void> {
    await this.tail;
  }

  /** Waits for every queued line; throws the first delivery failure. */
  async flush(): Promise<void> {
    await this.tail;
    if (this.failure !== null) throw this.failure;
  }
}
