import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';
import { ImageEntity } from './image.entity';
import { RepositoryEntity } from './repository.entity';

/** `repository:name` → image (and the manifest it was pushed, pulled or loaded with). */
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
  @Column({ name: 'image_id', type: 'varchar', length: DIGEST_LENGTH })
  imageId!: string;

  @Column({ name: 'manifest_digest', type: 'varchar', length: DIGEST_LENGTH })
  manifestDigest!: string;

  @Column({ name: 'updated_at', type: 'bigint', transformer: bigintNumber })
  updatedAt!: number;
}
