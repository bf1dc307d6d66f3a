import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';

/** An image as Docker's classic store knows it: ID = digest of its config. */
@Entity('image')
export class ImageEntity {
  @PrimaryColumn({ type: 'varchar', length: DIGEST_LENGTH })
  id!: string;

  /** The config JSON, byte-exact (its digest is the ID). */
  @Column({ type: 'text' })
  config!: string;

  /** Labels from the config, as a JSON object, so listing need not parse configs. */
  @Column({ type: 'text', default: '{}' })
  labels!: string;

  /** Sum of the layers' uncompressed content sizes. */
  @Column({ type: 'bigint', transformer: bigintNumber })
  size!: number;

  /** `created` from the config, epoch milliseconds (0 when absent). */
  @Index('idx_image_created')
  @Column({ type: 'bigint', transformer: bigintNumber })
  created!: number;

  /** The image this one was built on, for legacy-builder chains (intermediate images). */
  @Index('idx_image_parent')
  @Column({ name: 'parent_id', type: 'varchar', length: DIGEST_LENGTH, nullable: true })
  parentId!: string | null;

  @Column({ type: 'varchar', length: 32, default: 'linux' })
  os!: string;

  @Column({ type: 'varchar', length: 32, default: 'amd64' })
  architecture!: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  variant!: string | null;

  /** The manifest this image is served and saved with. */
  @Index('idx_image_manifest')
  @Column({ name: 'manifest_digest', type: 'varchar', length: DIGEST_LENGTH })
  manifestDigest!: string;

  /** When it entered the store, epoch milliseconds. */
  @Column({ name: 'stored_at', type: 'bigint', transformer: bigintNumber })
  storedAt!: number;
}
