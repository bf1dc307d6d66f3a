import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';

/** A blob known to be committed in the blob store (layers, configs). */
@Entity('blob')
export class BlobEntity {
  @PrimaryColumn({ type: 'varchar', length: DIGEST_LENGTH })
  digest!: string;

  @Column({ type: 'bigint', transformer: bigintNumber })
  size!: number;

  /** Epoch milliseconds. */
  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;

  /** Set by the gc sweep when it has chosen the blob: nothing may reference it any more (ADR 0006). */
  @Column({ name: 'deleting_at', type: 'bigint', transformer: bigintNumber, nullable: true })
  deletingAt!: number | null;
}
