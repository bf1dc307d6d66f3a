import type { DockerProgress, JobData, JobName, JobResult } from '@cargohold/queue-contracts';

/** What a handler gets besides its payload. */
export interface JobContext {
  /** BullMQ job id; stable across retries, so usable as an idempotency key. */
  jobId: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /** Aborted when the worker shuts down (or loses the job's lock): stop and throw. */
  signal: AbortSignal;
  /** Relays one Docker progress line to whoever follows the job; events arrive in call order. */
  progress(event: DockerProgress): Promise<void>;
}

/**
 * Handles one job type. Jobs may run more than once (crash, stalled lock), so a handler must be
 * idempotent. Throw PermanentJobError for failures a retry cannot fix.
 */
export type JobHandler<N extends JobName> = (data: JobData<N>, context: JobContext) => Promise<JobResult<N>>;
