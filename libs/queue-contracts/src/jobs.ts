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

/** Registry credentials as the Docker API's `X-Registry-Auth` carries them (decoded). */
export const registryCredentialsSchema = z.object({
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});
export type RegistryCredentialsPayload = z.infer<typeof registryCredentialsSchema>;

/**
 * `docker pull`. Credentials travel in the payload, as they do per request in the Docker API;
 * jobs are removed from Redis when they finish (see the queue's job defaults).
 */
export const pullJobSchema = z.object({
  /** `fromImage` as the client sent it: `busybox`, `127.0.0.1:5000/a/b`, `x@sha256:…`. */
  image: z.string().min(1),
  /** `tag` as the client sent it; a digest here means pull by digest. */
  tag: z.string().optional(),
  /** Neither tag nor digest given: pull every tag of the repository (`docker pull -a`). */
  allTags: z.boolean().default(false),
  /** `os[/arch[/variant]]`; the host's platform when absent. */
  platform: z.string().optional(),
  auth: registryCredentialsSchema.optional(),
});
export type PullJob = z.infer<typeof pullJobSchema>;
export interface PullResult {
  images: Array<{ reference: string; id: string; manifestDigest: string; downloaded: boolean }>;
}

export const pushJobSchema = z.object({
  /** The repository as the client named it (`127.0.0.1:5000/app`). */
  name: z.string().min(1),
  /** One tag; every local tag of the repository when absent. */
  tag: z.string().optional(),
  auth: registryCredentialsSchema.optional(),
});
export type PushJob = z.infer<typeof pushJobSchema>;
export interface PushResult {
  pushed: Array<{ tag: string; digest: string; size: number }>;
}

export const importJobSchema = z
  .object({
    /** Root filesystem tar (plain or gzip) staged in the blob store; the job removes it when done. */
    sourceKey: z.string().min(1).optional(),
    /** `fromSrc=<url>`: fetched over http(s); a URL without a scheme is taken as http://, as dockerd does. */
    sourceUrl: z.string().min(1).optional(),
    /** `repo` as the client sent it, possibly with a tag (`busybox:1`); untagged when absent. */
    repo: z.string().optional(),
    /** `tag`; overrides a tag in `repo`; `latest` when neither gives one. */
    tag: z.string().optional(),
    /** History comment; `Imported from -` / `Imported from <url>` when empty. */
    message: z.string().optional(),
    /** Dockerfile instructions applied to the config (`--change`). */
    changes: z.array(z.string()).default([]),
    /** `os[/arch[/variant]]`; the host platform when absent. */
    platform: z.string().optional(),
    /** Creation time (RFC 3339) fixed by the producer, so a retried job builds the same image ID. */
    created: z.string().optional(),
  })
  .refine((job) => (job.sourceKey === undefined) !== (job.sourceUrl === undefined), {
    message: 'exactly one of sourceKey and sourceUrl is required',
  });
export type ImportJob = z.infer<typeof importJobSchema>;
export type ImportJobPayload = z.input<typeof importJobSchema>;
export interface ImportResult {
  /** Image ID (`sha256:…` of the config); the gateway prints it as the final status line. */
  id: string;
  /** Familiar `repo:tag` the image was tagged with, when a repository was given. */
  tag?: string;
}

/**
 * Verification of an image pushed through the registry API (ADR 0010): its layers' diff IDs and
 * content sizes came from the pushed config unchecked until this job reads the blobs.
 */
export const verifyJobSchema = z.object({
  /** The image (`sha256:…` of its config); gone by the time the job runs is not an error. */
  imageId: z.string().min(1),
});
export type VerifyJob = z.infer<typeof verifyJobSchema>;
export interface VerifyResult {
  imageId: string;
  /** Distinct layer blobs found to match their rows (now verified, with their true content size). */
  verified: number;
  /** Layer blobs that did not: their rows stay unverified. */
  failed: Array<{ digest: string; reason: string }>;
}

/**
 * `docker build` (legacy builder). Every query parameter of `POST /build` the builder honours,
 * already validated by the gateway; credentials for base images per registry host, as the
 * client's `X-Registry-Config` carries them.
 */
export const buildJobSchema = z.object({
  /** The context tar (plain or gzip) in the blob store's staging area; the job removes it when done. */
  contextKey: z.string().min(1),
  /**
   * The context's index (@cargohold/context-index), staged beside it when the gateway could make
   * one while the context streamed in: with it, a build extracts the context only for a COPY/ADD
   * the cache does not have. The job removes it when done.
   */
  contextIndexKey: z.string().min(1).optional(),
  /** Path of the Dockerfile inside the context. */
  dockerfile: z.string().min(1).default('Dockerfile'),
  /** Normalised `name:tag` references to tag the result with (`-t`, repeatable). */
  tags: z.array(z.string().min(1)).default([]),
  buildArgs: z.record(z.string(), z.string().nullable()).default({}),
  labels: z.record(z.string(), z.string()).default({}),
  target: z.string().optional(),
  noCache: z.boolean().default(false),
  /** Pull base images even when present (`--pull`). */
  pull: z.boolean().default(false),
  /** `-q`: only the final image ID is printed. */
  quiet: z.boolean().default(false),
  /** Remove intermediate containers (the legacy builder's `--rm`, default on; cargohold keeps none). */
  rm: z.boolean().default(true),
  forceRm: z.boolean().default(false),
  squash: z.boolean().default(false),
  /** `os[/arch[/variant]]`; this host's platform when absent. */
  platform: z.string().optional(),
  /** Images whose build cache may be used (`--cache-from`). */
  cacheFrom: z.array(z.string()).default([]),
  /** `--network`: `none` (default for RUN here), `default`/`bridge`/`host` give RUN the host network. */
  networkMode: z.string().default('default'),
  /** Credentials per registry host for base-image pulls. */
  registryAuth: z.record(z.string(), registryCredentialsSchema).default({}),
  /** Clamp file times in new layers (SOURCE_DATE_EPOCH build arg), for reproducible digests. */
  sourceDateEpoch: z.number().int().nonnegative().optional(),
  /**
   * Each RUN's limits (`--memory`, `--memory-swap`, `--cpu-shares`, `--cpu-period`, `--cpu-quota`,
   * `--cpuset-cpus`, `--shm-size`), validated by the gateway as dockerd does; bytes and µs.
   */
  limits: z
    .object({
      memory: z.number().int().positive().optional(),
      memorySwap: z.number().int().min(-1).optional(),
      cpuShares: z.number().int().positive().optional(),
      cpuPeriod: z.number().int().positive().optional(),
      cpuQuota: z.number().int().positive().optional(),
      cpusetCpus: z.string().min(1).optional(),
      shmSize: z.number().int().positive().optional(),
    })
    .optional(),
});
export type BuildJob = z.infer<typeof buildJobSchema>;
export interface BuildResult {
  /** The built image (`sha256:…`). */
  imageId: string;
  /** Familiar `repo:tag` names it was tagged with. */
  tags: string[];
}

/** What a prune removes; the same options back `POST /images/prune`, `POST /build/prune` and schedules. */
export const pruneOptionsSchema = z.object({
  /** `images`: image references and rows; `build-cache`: build cache entries (and the intermediate images only they kept). */
  target: z.enum(['images', 'build-cache']).default('images'),
  /** Images: only dangling ones (default), or every image no container uses (`-a`, `dangling=false`). */
  danglingOnly: z.boolean().default(true),
  /** Only what was created before this instant (RFC 3339), as `until=` filters resolve. */
  until: z.string().optional(),
  /** Schedules: only what is older than this many seconds when the prune runs (`until=24h`, relative). */
  olderThanSeconds: z.number().int().positive().optional(),
  /** `label=k` / `label=k=v`: only images carrying these labels. */
  labels: z.array(z.string()).default([]),
  /** `label!=k` / `label!=k=v`: only images not carrying these labels. */
  labelsNot: z.array(z.string()).default([]),
  /** Schedules: keep the newest N tags of every repository (by when the tag was set). */
  keepNewestTags: z.number().int().nonnegative().optional(),
  /** Report what would go, change nothing. */
  dryRun: z.boolean().default(false),
});
export type PruneOptions = z.infer<typeof pruneOptionsSchema>;
export const pruneJobSchema = pruneOptionsSchema;
export type PruneJob = z.infer<typeof pruneJobSchema>;
export interface PruneResult {
  /** dockerd's `ImagesDeleted`: `{Untagged}` / `{Deleted}` records in the order they happened. */
  ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }>;
  /** Build cache prunes: the cache keys removed. */
  CachesDeleted: string[];
  /** Bytes of image content no longer referenced (reclaimed by the next sweep). */
  SpaceReclaimed: number;
  dryRun: boolean;
}

export const sweepJobSchema = z.object({
  /** Blobs written or referenced more recently than this are never candidates (uploads, running jobs). */
  graceSeconds: z.number().int().nonnegative().default(3600),
  dryRun: z.boolean().default(false),
});
export type SweepJob = z.infer<typeof sweepJobSchema>;
export interface SweepResult {
  dryRun: boolean;
  /** Blobs in the store when the sweep began. */
  blobsScanned: number;
  /** Blobs something references (or that are too young, or leased): kept. */
  blobsKept: number;
  /** Deleted (or, dry run, that would be). */
  blobsDeleted: number;
  bytesFreed: number;
  /** Manifest rows no tag, image, digest reference, link or index still names. */
  manifestsDeleted: number;
  durationMs: number;
}

export const scheduledPruneJobSchema = z.object({
  scheduleId: z.string().min(1),
});
export type ScheduledPruneJob = z.infer<typeof scheduledPruneJobSchema>;
export interface ScheduledPruneResult {
  scheduleId: string;
  prune: PruneResult;
  sweep?: SweepResult;
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
  [JobName.Pull]: { queue: QueueName.Puller, payload: pullJobSchema },
  [JobName.Push]: { queue: QueueName.Puller, payload: pushJobSchema },
  [JobName.Import]: { queue: QueueName.Puller, payload: importJobSchema },
  [JobName.Verify]: { queue: QueueName.Puller, payload: verifyJobSchema },
  [JobName.Build]: { queue: QueueName.Builder, payload: buildJobSchema },
  [JobName.Prune]: { queue: QueueName.Gc, payload: pruneJobSchema },
  [JobName.Sweep]: { queue: QueueName.Gc, payload: sweepJobSchema },
  [JobName.ScheduledPrune]: { queue: QueueName.Gc, payload: scheduledPruneJobSchema },
  [JobName.ExpireStaging]: { queue: QueueName.Gc, payload: expireStagingJobSchema },
} as const satisfies Record<JobName, { queue: QueueName; payload: z.ZodType }>;

export interface JobResults {
  [JobName.Load]: LoadResult;
  [JobName.Pull]: PullResult;
  [JobName.Push]: PushResult;
  [JobName.Import]: ImportResult;
  [JobName.Verify]: VerifyResult;
  [JobName.Build]: BuildResult;
  [JobName.Prune]: PruneResult;
  [JobName.Sweep]: SweepResult;
  [JobName.ScheduledPrune]: ScheduledPruneResult;
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
