import { Module } from '@nestjs/common';
import { GcSchedulesModule, GcWorkerModule } from '@cargohold/gc';
import { BlobStoreModule, ConfigModule, DatabaseModule, ExpireStagingModule, LoggingModule, QueueModule } from '@cargohold/platform';
import { QueueName } from '@cargohold/queue-contracts';

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forRoot({ app: 'gc' }),
    DatabaseModule,
    BlobStoreModule,
    QueueModule.forWorker(QueueName.Gc),
    ExpireStagingModule,
    GcWorkerModule,
    GcSchedulesModule,
  ],
})
export class AppModule {}
