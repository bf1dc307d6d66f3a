import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, In, QueryFailedError } from 'typeorm';
import { PruneRunEntity, PruneScheduleEntity } from '@cargohold/db';
import type { ScheduledPruneResult } from '@cargohold/queue-contracts';
import { PruneScheduleNameTakenError, PruneScheduleNotFoundError } from './prune-schedules.errors';
import type { PruneRun, PruneRunOutcome, PruneSchedule, PruneScheduleOptions, PruneScheduleSettings } from './prune-schedule.types';

/** How many runs each schedule keeps (the newest). */
export const PRUNE_RUNS_KEPT = 100;

/** Prune schedules and their runs (`prune_schedule`, `prune_run`), for the gc and the native API. */
@Injectable()
export class PruneSchedulesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Throws PruneScheduleNameTakenError when the name is in use. */
  async create(settings: PruneScheduleSettings, now = Date.now()): Promise<PruneSchedule> {
    const row = this.dataSource.manager.create(PruneScheduleEntity, { id: randomUUID(), createdAt: now, updatedAt: now });
    assign(row, settings);
    await this.saveNamed(row, () => this.dataSource.manager.insert(PruneScheduleEntity, row));
    return toSchedule(row);
  }

  /** Every schedule, by name. */
  async list(): Promise<PruneSchedule[]> {
    const rows = await this.dataSource.manager.find(PruneScheduleEntity, { order: { name: 'ASC' } });
    return rows.map(toSchedule);
  }

  async find(id: string): Promise<PruneSchedule | null> {
    const row = await this.dataSource.manager.findOneBy(PruneScheduleEntity, { id });
    return row ? toSchedule(row) : null;
  }

  /** Throws PruneScheduleNotFoundError. */
  async get(id: string): Promise<PruneSchedule> {
    const schedule = await this.find(id);
    if (!schedule) throw new PruneScheduleNotFoundError(id);
    return schedule;
  }

  /** Replaces the settings given; throws PruneScheduleNotFoundError or PruneScheduleNameTakenError. */
  async update(id: string, changes: Partial<PruneScheduleSettings>, now = Date.now()): Promise<PruneSchedule> {
    const row = await this.dataSource.manager.findOneBy(PruneScheduleEntity, { id });
    if (!row) throw new PruneScheduleNotFoundError(id);
    assign(row, changes);
    row.updatedAt = now;
    await this.saveNamed(row, () => this.dataSource.manager.update(PruneScheduleEntity, { id }, { ...row }));
    return toSchedule(row);
  }

  /** Deletes the schedule and its runs; throws PruneScheduleNotFoundError. */
  async delete(id: string): Promise<void> {
    const result = await this.dataSource.manager.delete(PruneScheduleEntity, { id });
    if (!result.affected) throw new PruneScheduleNotFoundError(id);
  }

  /**
   * Records a run as running. A run id seen before (the same job run again after a crash)
   * starts over rather than adding a second row.
   */
  async startRun(id: string, scheduleId: string, now = Date.now()): Promise<PruneRun> {
    const row = this.dataSource.manager.create(PruneRunEntity, { id, scheduleId, startedAt: now, finishedAt: null, status: 'running', report: null, error: null });
    await this.dataSource.manager.upsert(PruneRunEntity, row, ['id']);
    return toRun(row);
  }

  /** Records how a run ended; a run whose schedule was deleted meanwhile is gone, and that is fine. */
  async finishRun(id: string, outcome: PruneRunOutcome, now = Date.now()): Promise<void> {
    await this.dataSource.manager.update(
      PruneRunEntity,
      { id },
      {
        status: outcome.status,
        finishedAt: now,
        report: outcome.status === 'succeeded' ? JSON.stringify(outcome.report) : null,
        error: outcome.status === 'failed' ? outcome.error : null,
      },
    );
  }

  /** The newest runs of a schedule first; throws PruneScheduleNotFoundError for an unknown schedule. */
  async runs(scheduleId: string, limit: number): Promise<PruneRun[]> {
    await this.get(scheduleId);
    const rows = await this.dataSource.manager.find(PruneRunEntity, { where: { scheduleId }, order: { startedAt: 'DESC', id: 'DESC' }, take: limit });
    return rows.map(toRun);
  }

  /** Deletes all but the newest `keep` runs of a schedule; returns how many went. */
  async trimRuns(scheduleId: string, keep = PRUNE_RUNS_KEPT): Promise<number> {
    // Trimmed after every run, so this reads at most a few rows more than `keep`.
    const rows = await this.dataSource.manager.find(PruneRunEntity, { select: { id: true }, where: { scheduleId }, order: { startedAt: 'DESC', id: 'DESC' } });
    const surplus = rows.slice(keep).map((row) => row.id);
    if (surplus.length === 0) return 0;
    const result = await this.dataSource.manager.delete(PruneRunEntity, { id: In(surplus) });
    return result.affected ?? surplus.length;
  }

  /** A unique violation on the name becomes PruneScheduleNameTakenError. */
  private async saveNamed(row: PruneScheduleEntity, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (error instanceof QueryFailedError && (await this.nameTaken(row.name, row.id))) throw new PruneScheduleNameTakenError(row.name);
      throw error;
    }
  }

  private async nameTaken(name: string, exceptId: string): Promise<boolean> {
    const owner = await this.dataSource.manager.findOneBy(PruneScheduleEntity, { name });
    return owner !== null && owner.id !== exceptId;
  }
}

function assign(row: PruneScheduleEntity, settings: Partial<PruneScheduleSettings>): void {
  const { options, ...columns } = settings;
  Object.assign(row, columns);
  if (options) row.options = JSON.stringify(options);
}

function toSchedule(row: PruneScheduleEntity): PruneSchedule {
  return {
    id: row.id,
    name: row.name,
    cron: row.cron,
    everySeconds: row.everySeconds,
    timezone: row.timezone,
    options: JSON.parse(row.options) as PruneScheduleOptions,
    sweep: row.sweep,
    sweepGraceSeconds: row.sweepGraceSeconds,
    dryRun: row.dryRun,
    enabled: row.enabled,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toRun(row: PruneRunEntity): PruneRun {
  return {
    id: row.id,
    scheduleId: row.scheduleId,
    status: row.status,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    report: row.report === null ? null : (JSON.parse(row.report) as ScheduledPruneResult),
    error: row.error,
  };
}
