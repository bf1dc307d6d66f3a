import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { PruneSchedulers, PruneSchedulesRepository } from '@cargohold/platform';
import type { PruneSchedule } from '@cargohold/platform';
import { PermanentJobError } from '@cargohold/queue';
import type { JobContext } from '@cargohold/queue';
import type { JobData, JobName, ScheduledPruneResult } from '@cargohold/queue-contracts';
import { PruneService } from './prune.service';
import { SweepService } from './sweep.service';

/**
 * The run id of a job: the same for every attempt of one job, so a job run again after a crash
 * updates its run instead of leaving a second one `running` forever. UUID-shaped to fit the column.
 */
export function runIdOfJob(jobId: string): string {
  const hex = createHash('sha256').update(`prune-run:${jobId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * `prune.scheduled.v1`: a schedule fired (or was fired through the API). Reads the schedule as it
 * is now, records a run, prunes with its options, sweeps if it says so, and stores the report.
 *
 * A schedule deleted or disabled since its job was queued is skipped and no run is recorded: the
 * job fails at once with the reason (404 or 409) and the stale scheduler is removed. A run that
 * fails is recorded as failed and its job is not retried; the next period is the retry.
 */
@Injectable()
export class ScheduledPruneService {
  private readonly logger = new Logger('ScheduledPrune');

  constructor(
    @Inject(PruneSchedulesRepository) private readonly repository: PruneSchedulesRepository,
    @Inject(PruneSchedulers) private readonly schedulers: PruneSchedulers,
    @Inject(PruneService) private readonly pruner: PruneService,
    @Inject(SweepService) private readonly sweeper: SweepService,
  ) {}

  async run(data: JobData<typeof JobName.ScheduledPrune>, context: JobContext): Promise<ScheduledPruneResult> {
    const schedule = await this.runnable(data.scheduleId);
    const runId = runIdOfJob(context.jobId);
    await this.repository.startRun(runId, schedule.id);
    try {
      const report = await this.pruneAndSweep(schedule, context.signal);
      await this.repository.finishRun(runId, { status: 'succeeded', report });
      return report;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.repository.finishRun(runId, { status: 'failed', error: message });
      this.logger.warn(`prune schedule "${schedule.name}" (${schedule.id}) failed: ${message}`);
      // A failure the job reported with a status (bad options: 400) keeps it; anything else is ours.
      const status = error instanceof PermanentJobError ? error.status : 500;
      throw new PermanentJobError(`prune schedule "${schedule.name}" failed: ${message}`, { status, cause: error });
    } finally {
      await this.repository.trimRuns(schedule.id);
    }
  }

  /** The schedule, if it still exists and is enabled; otherwise its scheduler goes and the job fails. */
  private async runnable(scheduleId: string): Promise<PruneSchedule> {
    const schedule = await this.repository.find(scheduleId);
    if (schedule?.enabled) return schedule;
    await this.schedulers.remove(scheduleId);
    if (!schedule) throw new PermanentJobError(`no prune schedule with id "${scheduleId}": it was deleted; the run is skipped`, { status: 404 });
    throw new PermanentJobError(`prune schedule "${schedule.name}" is disabled: the run is skipped`, { status: 409 });
  }

  private async pruneAndSweep(schedule: PruneSchedule, signal: AbortSignal): Promise<ScheduledPruneResult> {
    const prune = await this.pruner.prune({ ...schedule.options, dryRun: schedule.dryRun });
    if (!schedule.sweep) return { scheduleId: schedule.id, prune };
    signal.throwIfAborted();
    const sweep = await this.sweeper.sweep({ graceSeconds: schedule.sweepGraceSeconds, dryRun: schedule.dryRun }, signal);
    return { scheduleId: schedule.id, prune, sweep };
  }
}
