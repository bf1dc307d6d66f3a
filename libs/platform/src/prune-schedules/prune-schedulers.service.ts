import { Inject, Injectable } from '@nestjs/common';
import { JobProducer } from '@cargohold/queue';
import type { ScheduleRule } from '@cargohold/queue';
import { JobName, QueueName } from '@cargohold/queue-contracts';
import { PruneSchedulesRepository } from './prune-schedules.repository';
import type { PruneSchedule } from './prune-schedule.types';

/** Scheduler ids of prune schedules start with this, so a reconcile can tell them from others. */
export const PRUNE_SCHEDULER_ID_PREFIX = 'prune-schedule.';

/** One BullMQ job scheduler per schedule; no ':' (BullMQ builds job ids from it). */
export function pruneSchedulerId(scheduleId: string): string {
  return `${PRUNE_SCHEDULER_ID_PREFIX}${scheduleId}`;
}

/**
 * The repeat rule of a schedule. Cron patterns read in UTC unless a zone is set. A period starts
 * one period from now: creating or re-enabling a schedule does not prune at once (an existing
 * scheduler with the same period keeps its slot, see ScheduleRule).
 */
export function scheduleRuleOf(schedule: Pick<PruneSchedule, 'cron' | 'everySeconds' | 'timezone'>, now = Date.now()): ScheduleRule {
  if (schedule.cron !== null) return { pattern: schedule.cron, tz: schedule.timezone ?? 'UTC' };
  if (schedule.everySeconds === null) throw new Error('a prune schedule needs either cron or everySeconds');
  const every = schedule.everySeconds * 1000;
  return { every, startDate: now + every };
}

export interface ReconcileResult {
  /** Enabled schedules whose scheduler was upserted. */
  scheduled: number;
  /** Schedulers removed because their schedule is gone or disabled. */
  removed: number;
}

/**
 * Keeps BullMQ's job schedulers in line with the prune schedules in the database, which are the
 * truth: the gateway applies each change, and the gc reconciles everything at boot. The
 * scheduled job carries only the schedule id; the handler reads the settings when it fires.
 */
@Injectable()
export class PruneSchedulers {
  constructor(
    @Inject(JobProducer) private readonly producer: JobProducer,
    @Inject(PruneSchedulesRepository) private readonly repository: PruneSchedulesRepository,
  ) {}

  /** Upserts the scheduler of an enabled schedule, removes that of a disabled one. */
  async apply(schedule: PruneSchedule): Promise<void> {
    if (!schedule.enabled) {
      await this.remove(schedule.id);
      return;
    }
    await this.producer.schedule(pruneSchedulerId(schedule.id), scheduleRuleOf(schedule), {
      name: JobName.ScheduledPrune,
      data: { scheduleId: schedule.id },
    });
  }

  async remove(scheduleId: string): Promise<void> {
    await this.producer.unschedule(pruneSchedulerId(scheduleId), JobName.ScheduledPrune);
  }

  /** When the schedule fires next (epoch ms); null when it has no scheduler (disabled). */
  async nextRunAt(scheduleId: string): Promise<number | null> {
    return (await this.producer.nextRunOf(pruneSchedulerId(scheduleId), JobName.ScheduledPrune)) ?? null;
  }

  /**
   * Upserts the scheduler of every enabled schedule (so a Redis that lost its data heals) and
   * removes schedulers whose schedule is gone or disabled. Every gc replica may run this at once:
   * upserts of one id converge on one scheduler.
   */
  async reconcile(): Promise<ReconcileResult> {
    const schedules = await this.repository.list();
    const enabled = schedules.filter((schedule) => schedule.enabled);
    for (const schedule of enabled) await this.apply(schedule);
    const wanted = new Set(enabled.map((schedule) => pruneSchedulerId(schedule.id)));
    const stale = (await this.producer.queueOf(QueueName.Gc).getJobSchedulers())
      .map((scheduler) => scheduler.key)
      .filter((id) => id.startsWith(PRUNE_SCHEDULER_ID_PREFIX) && !wanted.has(id));
    let removed = 0;
    for (const id of stale) {
      const scheduleId = id.slice(PRUNE_SCHEDULER_ID_PREFIX.length);
      // Read again: the gateway may have created or enabled it since the list above.
      if ((await this.repository.find(scheduleId))?.enabled) continue;
      if (await this.producer.unschedule(id, JobName.ScheduledPrune)) removed += 1;
    }
    return { scheduled: enabled.length, removed };
  }
}
