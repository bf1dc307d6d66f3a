import type { DefaultJobOptions } from 'bullmq';

/**
 * Retry infrastructure failures (Redis, DB, S3 hiccups) a few times with growing pauses; handlers
 * throw PermanentJobError for anything a retry cannot fix. Finished jobs are kept for a while so
 * a late `follow` of an idempotent job id still finds the result, then trimmed.
 */
export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5_000 },
};
