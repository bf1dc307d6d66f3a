import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';
import { RepositoryEntity } from './repository.entity';

/** A manifest is in a repository (distribution's manifest link): pullable by digest there. */
@Entity('repository_manifest')
export class RepositoryManifestEntity {
  @ForeignKey(() => RepositoryEntity, { name: 'fk_repository_manifest_repository', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'repository_id', type: 'integer' })
  repositoryId!: number;

  @Index('idx_repository_manifest_digest')
  @PrimaryColumn({ name: 'manifest_digest', type: 'varchar', length: DIGEST_LENGTH })
  manifestDigest!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;
}

/** A blob is in a repository (distribution's layer link): readable and mountable from there. */
@Entity('repository_blob')
export class RepositoryBlobEntity {
  @ForeignKey(() => RepositoryEntity, { name: 'fk_repository_blob_repository', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'repository_id', type: 'integer' })
  repositoryId!: number;

  @Index('idx_repository_blob_digest')
  @PrimaryColumn({ name: 'blob_digest', type: 'varchar', length: DIGEST_LENGTH })
  blobDigest!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;
}
