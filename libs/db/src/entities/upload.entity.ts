import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './columns';
import { RepositoryEntity } from './repository.entity';

/**
 * A registry upload session. Its bytes are staged in the blob store, one staged part per PATCH
 * (`upload-<id>-<nonce>`); the final PUT streams them, in order, into the blob.
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

  /** JSON array of the staged parts, in order: `[{ "key": "upload-…", "size": 123 }]`. */
  @Column({ type: 'text' })
  parts!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;

  @Index('idx_upload_updated')
  @Column({ name: 'updated_at', type: 'bigint', transformer: bigintNumber })
  updatedAt!: number;
}
