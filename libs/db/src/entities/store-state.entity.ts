import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './columns';

/**
 * A single row (id 1): `version` goes up in every transaction that changes images or
 * references, so a reader can keep a listing cache and revalidate it with one tiny query.
 */
@Entity('store_state')
export class StoreStateEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintNumber })
  version!: number;
}
