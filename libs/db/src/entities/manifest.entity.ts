import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';

/** An image manifest or index, kept byte-exact (its digest is over these bytes). */
@Entity('manifest')
export class ManifestEntity {
  @PrimaryColumn({ type: 'varchar', length: DIGEST_LENGTH })
  digest!: string;

  @Column({ name: 'media_type', type: 'varchar', length: 255 })
  mediaType!: string;

  @Column({ type: 'integer' })
  size!: number;

  /** The manifest bytes as UTF-8 JSON text. */
  @Column({ type: 'text' })
  content!: string;

  /** For image manifests: the config blob, which is also the image ID. Null for indexes. */
  @Index('idx_manifest_config')
  @Column({ name: 'config_digest', type: 'varchar', length: DIGEST_LENGTH, nullable: true })
  configDigest!: string | null;

  @Index('idx_manifest_subject')
  @Column({ name: 'subject_digest', type: 'varchar', length: DIGEST_LENGTH, nullable: true })
  subjectDigest!: string | null;

  @Column({ name: 'artifact_type', type: 'varchar', length: 255, nullable: true })
  artifactType!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;
}
