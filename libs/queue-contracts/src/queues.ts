/**
 * Queue and job names are wire strings stored in Redis: never rename one. A job whose payload
 * shape changes gets a new version (`load.v2`) and the old one is drained before removal.
 */
export const QueueName = {
  Puller: 'puller',
  Builder: 'builder',
  Gc: 'gc',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  /** Load a `docker save` archive (docker-archive or OCI layout) staged in the blob store. */
  Load: 'load.v1',
  /** Pull an image (one tag, one digest, or every tag) from a registry. */
  Pull: 'pull.v1',
  /** Push local tags of a repository to its registry. */
  Push: 'push.v1',
  /** Turn a root filesystem tar (staged or at a URL) into a one-layer image. */
  Import: 'import.v1',
  /** Read the layers of an image pushed through the registry API: check its diff IDs, record true sizes. */
  Verify: 'verify.v1',
  /** Build a Dockerfile from a context staged in the blob store (the legacy builder's `POST /build`). */
  Build: 'build.v1',
  /** `docker image prune` / `docker builder prune`: remove image references and rows, or build cache entries. */
  Prune: 'prune.v1',
  /** Mark and sweep: delete blobs nothing references any more (online). */
  Sweep: 'sweep.v1',
  /** A prune schedule fired: prune with its options, then sweep if it says so. */
  ScheduledPrune: 'prune.scheduled.v1',
  /** Remove staged uploads older than a grace window. */
  ExpireStaging: 'staging.expire.v1',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];
