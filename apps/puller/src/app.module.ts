import { Module } from '@nestjs/common';
import { ArchiveLoaderModule } from '@cargohold/archive-loader';
import { BlobStoreModule, ConfigModule, DatabaseModule, LoggingModule, QueueModule } from '@cargohold/platform';
import { QueueName } from '@cargohold/queue-contracts';

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forRoot({ app: 'puller' }),
    DatabaseModule,
    BlobStoreModule,
    QueueModule.forWorker(QueueName.Puller),
    ArchiveLoaderModule,
  ],
})
export class AppModule {}
