import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './columns';
import { RepositoryEntity } from './repository.entity';

/**
 * A registry upload session. Its bytes are staged in the blob store as parts
 * `upload-<id>-<n>` (one per PATCH); the final PUT streams them, in order, into the blob.
 */
@Entity('upload')
export class UploadEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @ForeignKey(() => RepositoryEntity, { name: 'fk_upload_repository', onDelete: 'CASCADE' })
  @Column({ name: 'repository_id', type: 'integer' })
  repositoryId!: number;

  /** Bytes received so far. */
  @Column({ type: 'bigint', transformer: bigintNumber })
  size!: number;

  /** Parts staged so far. */
  @Column({ type: 'integer' })
  parts!: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;

  @Index('idx_upload_updated')
  @Column({ name: 'updated_at', type: 'bigint', transformer: bigintNumber })
  updatedAt!: number;
}
