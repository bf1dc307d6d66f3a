import { Module } from '@nestjs/common';
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
  ],
})
export class AppModule {}
