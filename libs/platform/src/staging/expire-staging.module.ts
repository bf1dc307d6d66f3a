import { Module } from '@nestjs/common';
import { ExpireStagingHandler } from './expire-staging.handler';
import { ExpireStagingService } from './expire-staging.service';

/** The gc job that expires staged uploads; needs `QueueModule.forWorker(QueueName.Gc)` and BlobStoreModule. */
@Module({
  providers: [ExpireStagingService, ExpireStagingHandler],
})
export class ExpireStagingModule {}
