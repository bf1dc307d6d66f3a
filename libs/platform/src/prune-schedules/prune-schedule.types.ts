import type { PruneOptions, ScheduledPruneResult } from '@cargohold/queue-contracts';
import type { PruneRunStatus } from '@cargohold/db';

/** What a schedule prunes: PruneOptions without `dryRun`, which is a setting of the schedule. */
export type PruneScheduleOptions = Omit<PruneOptions, 'dryRun'>;

/** A prune schedule as the gc and the native API see it; times are epoch milliseconds. */
export interface PruneSchedule {
  id: string;
  name: string;
  /** Exactly one of `cron` and `everySeconds` is set. */
  cron: string | null;
  everySeconds: number | null;
  /** IANA zone of the cron pattern; null: UTC. */
  timezone: string | null;
  options: PruneScheduleOptions;
  sweep: boolean;
  sweepGraceSeconds: number;
  dryRun: boolean;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** The settings of a schedule, as created or changed. */
export type PruneScheduleSettings = Omit<PruneSchedule, 'id' | 'createdAt' | 'updatedAt'>;

/** One firing of a schedule; times are epoch milliseconds. */
export interface PruneRun {
  id: string;
  scheduleId: string;
  status: PruneRunStatus;
  startedAt: number;
  finishedAt: number | null;
  /** Set once the run succeeded. */
  report: ScheduledPruneResult | null;
  /** Set once the run failed. */
  error: string | null;
}

/** How a run ended. */
export type PruneRunOutcome = { status: 'succeeded'; report: ScheduledPruneResult } | { status: 'failed'; error: string };
