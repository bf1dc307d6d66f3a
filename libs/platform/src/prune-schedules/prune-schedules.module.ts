import { Module } from '@nestjs/common';
import { PruneSchedulers } from './prune-schedulers.service';
import { PruneSchedulesRepository } from './prune-schedules.repository';

/**
 * Prune schedules as the gateway (native API) and the gc share them: the repository and the
 * BullMQ scheduler sync. Needs the global DataSource (DatabaseModule) and JobProducer (QueueModule).
 */
@Module({
  providers: [PruneSchedulesRepository, PruneSchedulers],
  exports: [PruneSchedulesRepository, PruneSchedulers],
})
export class PruneSchedulesModule {}
