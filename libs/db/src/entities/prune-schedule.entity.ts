import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './columns';

/**
 * A prune schedule: prune with `options` on a cron pattern or every N seconds, then sweep if
 * `sweep`. The gc service keeps one BullMQ job scheduler per enabled schedule (rebuilt from these
 * rows at boot, so losing Redis loses no schedule).
 */
@Entity('prune_schedule')
export class PruneScheduleEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128, unique: true })
  name!: string;

  /** Cron pattern (as BullMQ reads it); exactly one of `cron` and `every_seconds` is set. */
  @Column({ type: 'text', nullable: true })
  cron!: string | null;

  @Column({ name: 'every_seconds', type: 'integer', nullable: true })
  everySeconds!: number | null;

  /** IANA zone the cron pattern is read in; null: UTC. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  timezone!: string | null;

  /** JSON PruneOptions without `dryRun` (that is the column below). */
  @Column({ type: 'text' })
  options!: string;

  @Column({ type: 'boolean' })
  sweep!: boolean;

  @Column({ name: 'sweep_grace_seconds', type: 'integer' })
  sweepGraceSeconds!: number;

  @Column({ name: 'dry_run', type: 'boolean' })
  dryRun!: boolean;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  /** Epoch milliseconds. */
  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: bigintNumber })
  updatedAt!: number;
}

export type PruneRunStatus = 'running' | 'succeeded' | 'failed';

/** One firing of a schedule; a schedule keeps only its newest runs. */
@Entity('prune_run')
@Index('idx_prune_run_schedule_started', ['scheduleId', 'startedAt'])
export class PruneRunEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Runs belong to their schedule: deleting the schedule deletes its history. */
  @ForeignKey(() => PruneScheduleEntity, { name: 'fk_prune_run_schedule', onDelete: 'CASCADE' })
  @Column({ name: 'schedule_id', type: 'varchar', length: 36 })
  scheduleId!: string;

  /** Epoch milliseconds. */
  @Column({ name: 'started_at', type: 'bigint', transformer: bigintNumber })
  startedAt!: number;

  @Column({ name: 'finished_at', type: 'bigint', transformer: bigintNumber, nullable: true })
  finishedAt!: number | null;

  @Column({ type: 'varchar', length: 16 })
  status!: PruneRunStatus;

  /** JSON ScheduledPruneResult of a run that succeeded. */
  @Column({ type: 'text', nullable: true })
  report!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;
}
