import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';
import { ManifestEntity } from './manifest.entity';

export type ManifestRefKind = 'config' | 'layer' | 'manifest';

/** What a manifest points at, in order: its config and layers, or an index's manifests. */
@Entity('manifest_ref')
export class ManifestRefEntity {
  /** Refs belong to their manifest: deleting the manifest deletes them. */
  @ForeignKey(() => ManifestEntity, { name: 'fk_manifest_ref_manifest', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'manifest_digest', type: 'varchar', length: DIGEST_LENGTH })
  manifestDigest!: string;

  @PrimaryColumn({ type: 'integer' })
  position!: number;

  @Column({ type: 'varchar', length: 16 })
  kind!: ManifestRefKind;

  @Index('idx_manifest_ref_target')
  @Column({ name: 'target_digest', type: 'varchar', length: DIGEST_LENGTH })
  targetDigest!: string;

  @Column({ name: 'media_type', type: 'varchar', length: 255 })
  mediaType!: string;

  @Column({ type: 'bigint', transformer: bigintNumber })
  size!: number;

  /** For index entries: the platform object as JSON. */
  @Column({ type: 'text', nullable: true })
  platform!: string | null;
}
