import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { PruneSchedulers } from '@cargohold/platform';
import { WorkerHost } from '@cargohold/queue';
import { JobName } from '@cargohold/queue-contracts';
import type { QueueName } from '@cargohold/queue-contracts';
import { ScheduledPruneService } from './scheduled-prune.service';

/**
 * Registers `prune.scheduled.v1` on the gc worker and, at boot, rebuilds the job schedulers of
 * the prune schedules from the database.
 *
 * Several gc replicas are fine: each upserts the same scheduler ids, and BullMQ keeps one pending
 * job per scheduler (its id is the scheduler id plus the due time), so each period fires once,
 * on whichever replica takes the job.
 */
@Injectable()
export class ScheduledPruneHandler implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('PruneSchedules');

  constructor(
    @Inject(WorkerHost) private readonly host: WorkerHost<typeof QueueName.Gc>,
    @Inject(PruneSchedulers) private readonly schedulers: PruneSchedulers,
    @Inject(ScheduledPruneService) private readonly service: ScheduledPruneService,
  ) {}

  onModuleInit(): void {
    this.host.register(JobName.ScheduledPrune, (data, context) => this.service.run(data, context));
  }

  async onApplicationBootstrap(): Promise<void> {
    const { scheduled, removed } = await this.schedulers.reconcile();
    if (scheduled > 0 || removed > 0) this.logger.log(`prune schedules: ${scheduled} scheduled, ${removed} stale schedulers removed`);
  }
}
