import { BlobEntity } from './blob.entity';
import { ImageLayerEntity } from './image-layer.entity';
import { ImageEntity } from './image.entity';
import { ManifestRefEntity } from './manifest-ref.entity';
import { ManifestEntity } from './manifest.entity';
import { RepoDigestEntity } from './repo-digest.entity';
import { RepositoryEntity } from './repository.entity';
import { StoreStateEntity } from './store-state.entity';
import { TagEntity } from './tag.entity';
import { ApiTokenEntity, ServiceSecretEntity } from './api-token.entity';
import { RepositoryBlobEntity, RepositoryManifestEntity } from './repository-link.entity';
import { UploadEntity } from './upload.entity';
import { BuildCacheEntity } from './build-cache.entity';
import { ContainerEntity } from './container.entity';
import { PruneRunEntity, PruneScheduleEntity } from './prune-schedule.entity';

export { BuildCacheEntity };
export { ContainerEntity };
export { PruneRunEntity, PruneScheduleEntity };
export type { PruneRunStatus } from './prune-schedule.entity';
export { ApiTokenEntity, RepositoryBlobEntity, RepositoryManifestEntity, ServiceSecretEntity, UploadEntity };
export { BlobEntity, ImageEntity, ImageLayerEntity, ManifestEntity, ManifestRefEntity, RepoDigestEntity, RepositoryEntity, StoreStateEntity, TagEntity };
export type { ManifestRefKind } from './manifest-ref.entity';

/** Explicit list (no globs): bundlers and compiled output both see exactly these. */
export const entities = [
  BlobEntity,
  ManifestEntity,
  ManifestRefEntity,
  ImageEntity,
  ImageLayerEntity,
  RepositoryEntity,
  TagEntity,
  RepoDigestEntity,
  StoreStateEntity,
  RepositoryManifestEntity,
  RepositoryBlobEntity,
  UploadEntity,
  ApiTokenEntity,
  ServiceSecretEntity,
  BuildCacheEntity,
  ContainerEntity,
  PruneScheduleEntity,
  PruneRunEntity,
];
