import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';
import { ImageEntity } from './image.entity';
import { RepositoryEntity } from './repository.entity';

/** `repository@digest` → image: Docker's RepoDigests. */
@Entity('repo_digest')
export class RepoDigestEntity {
  @ForeignKey(() => RepositoryEntity, { name: 'fk_repo_digest_repository', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'repository_id', type: 'integer' })
  repositoryId!: number;

  @Index('idx_repo_digest_digest')
  @PrimaryColumn({ type: 'varchar', length: DIGEST_LENGTH })
  digest!: string;

  /** RESTRICT: an image cannot be deleted while a reference still names it. */
  @ForeignKey(() => ImageEntity, { name: 'fk_repo_digest_image', onDelete: 'RESTRICT' })
  @Index('idx_repo_digest_image')
  @Column({ name: 'image_id', type: 'varchar', length: DIGEST_LENGTH })
  imageId!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;
}
