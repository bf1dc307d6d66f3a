import { Module } from '@nestjs/common';
import { ExpireStagingHandler } from './expire-staging.handler';
import { ExpireStagingService } from './expire-staging.service';
import { UploadSessionsRepository } from './upload-sessions.repository';

/** The gc job that expires staged uploads and idle registry upload sessions; needs a DataSource, `QueueModule.forWorker(QueueName.Gc)` and BlobStoreModule. */
@Module({
  providers: [ExpireStagingService, ExpireStagingHandler, UploadSessionsRepository],
})
export class ExpireStagingModule {}
