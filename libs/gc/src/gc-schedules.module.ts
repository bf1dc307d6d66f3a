import { Module } from '@nestjs/common';
import type { Provider } from '@nestjs/common';
import { PruneSchedulesModule } from '@cargohold/platform';
import { GcWorkerModule } from './gc-worker.module';
import { ScheduledPruneHandler } from './scheduled-prune.handler';
import { ScheduledPruneService } from './scheduled-prune.service';

/** The providers of scheduled prunes; PruneService and SweepService come from GcWorkerModule (tests supply fakes). */
export const GC_SCHEDULES_PROVIDERS: Provider[] = [ScheduledPruneService, ScheduledPruneHandler];

/**
 * Prune schedules in the gc: the `prune.scheduled.v1` handler and the boot-time rebuild of their
 * job schedulers. Needs a DataSource and `QueueModule.forWorker(QueueName.Gc)`.
 */
@Module({
  imports: [PruneSchedulesModule, GcWorkerModule],
  providers: GC_SCHEDULES_PROVIDERS,
})
export class GcSchedulesModule {}
