import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';

/**
 * One build step's cache entry: `key` (sha256 of the parent image, the instruction, the build
 * args it sees and, for COPY/ADD, the checksum of its sources) → the image the step produced.
 * Lives in the shared database, so every builder replica hits what any other one built.
 */
@Entity('build_cache')
export class BuildCacheEntity {
  @PrimaryColumn({ type: 'varchar', length: 71 })
  key!: string;

  @Index('idx_build_cache_image')
  @Column({ name: 'image_id', type: 'varchar', length: DIGEST_LENGTH })
  imageId!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;

  @Column({ name: 'last_used_at', type: 'bigint', transformer: bigintNumber })
  lastUsedAt!: number;
}
