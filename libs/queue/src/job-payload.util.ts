import { jobTable, JobName } from '@cargohold/queue-contracts';
import type { JobData, QueueName } from '@cargohold/queue-contracts';

const jobNames = new Set<string>(Object.values(JobName));

export function isJobName(name: string): name is JobName {
  return jobNames.has(name);
}

/** The queue a job runs on, from the contracts' job table. */
export function queueOfJob(name: JobName): QueueName {
  return jobTable[name].queue;
}

/** Every job the contracts route to `queue`. */
export function jobsOfQueue(queue: QueueName): JobName[] {
  return (Object.keys(jobTable) as JobName[]).filter((name) => jobTable[name].queue === queue);
}

/** Raised when a payload does not match its job's schema; `message` lists each bad field. */
export class InvalidJobPayloadError extends Error {
  constructor(
    readonly jobName: string,
    readonly problems: string[],
  ) {
    super(`invalid payload for job ${jobName}: ${problems.join('; ')}`);
    this.name = 'InvalidJobPayloadError';
  }
}

/** Validates `data` against the job's schema and returns it with defaults applied. */
export function parseJobPayload<N extends JobName>(name: N, data: unknown): JobData<N> {
  const result = jobTable[name].payload.safeParse(data);
  if (!result.success) {
    throw new InvalidJobPayloadError(
      name,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`),
    );
  }
  return result.data as JobData<N>;
}
