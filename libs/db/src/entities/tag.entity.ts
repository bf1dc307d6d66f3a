import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';
import { ImageEntity } from './image.entity';
import { RepositoryEntity } from './repository.entity';

/** `repository:name` → manifest, and the image it is (or selects, for an index) when it is one. */
@Entity('tag')
export class TagEntity {
  @ForeignKey(() => RepositoryEntity, { name: 'fk_tag_repository', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'repository_id', type: 'integer' })
  repositoryId!: number;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  name!: string;

  /** RESTRICT: an image cannot be deleted while a reference still names it. */
  @ForeignKey(() => ImageEntity, { name: 'fk_tag_image', onDelete: 'RESTRICT' })
  @Index('idx_tag_image')
  /** Null when the manifest is not an image (an OCI artifact, or an index with no image for this platform). */
  @Column({ name: 'image_id', type: 'varchar', length: DIGEST_LENGTH, nullable: true })
  imageId!: string | null;

  @Index('idx_tag_manifest')
  @Column({ name: 'manifest_digest', type: 'varchar', length: DIGEST_LENGTH })
  manifestDigest!: string;

  @Column({ name: 'updated_at', type: 'bigint', transformer: bigintNumber })
  updatedAt!: number;
}
