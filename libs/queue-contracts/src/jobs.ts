import { z } from 'zod';
import { JobName, QueueName } from './queues';

export const loadJobSchema = z.object({
  /** Key of the archive in the blob store's staging area; the job removes it when done. */
  archiveKey: z.string().min(1),
  /** `docker load -q`: no per-layer progress, only the result lines. */
  quiet: z.boolean().default(false),
});
export type LoadJob = z.infer<typeof loadJobSchema>;

export interface LoadedImage {
  id: string;
  /** Familiar `repo:tag` names the archive carried for this image (empty when untagged). */
  tags: string[];
}
export interface LoadResult {
  images: LoadedImage[];
}

export const expireStagingJobSchema = z.object({
  olderThanSeconds: z.number().int().positive().default(24 * 3600),
});
export type ExpireStagingJob = z.infer<typeof expireStagingJobSchema>;
export interface ExpireStagingResult {
  removed: number;
  bytes: number;
}

/**
 * The single table of jobs: name → queue, payload schema, result type. Producers and workers
 * derive their types from here, so an enqueue with the wrong payload does not compile and a
 * worker without a handler for one of its queue's jobs does not boot.
 */
export const jobTable = {
  [JobName.Load]: { queue: QueueName.Puller, payload: loadJobSchema },
  [JobName.ExpireStaging]: { queue: QueueName.Gc, payload: expireStagingJobSchema },
} as const satisfies Record<JobName, { queue: QueueName; payload: z.ZodType }>;

export interface JobResults {
  [JobName.Load]: LoadResult;
  [JobName.ExpireStaging]: ExpireStagingResult;
}

export type JobPayload<N extends JobName> = z.input<(typeof jobTable)[N]['payload']>;
export type JobData<N extends JobName> = z.output<(typeof jobTable)[N]['payload']>;
export type JobResult<N extends JobName> = JobResults[N];
export type JobsOfQueue<Q extends QueueName> = {
  [N in JobName]: (typeof jobTable)[N]['queue'] extends Q ? N : never;
}[JobName];

/** A job as a producer submits it: `{ name, data }`, type-checked together. */
export type JobItem = { [N in JobName]: { name: N; data: JobPayload<N> } }[JobName];
