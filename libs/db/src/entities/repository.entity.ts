import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintNumber } from './columns';

/** A repository by its normalised name (`docker.io/library/busybox`, `127.0.0.1:5000/app`). */
@Entity('repository')
export class RepositoryEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 255, unique: true })
  name!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;
}
