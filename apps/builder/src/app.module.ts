import { Module } from '@nestjs/common';
import { ImageBuildModule } from '@cargohold/image-build';
import { BlobStoreModule, ConfigModule, DatabaseModule, LoggingModule, QueueModule } from '@cargohold/platform';
import { QueueName } from '@cargohold/queue-contracts';

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forRoot({ app: 'builder' }),
    DatabaseModule,
    BlobStoreModule,
    QueueModule.forWorker(QueueName.Builder),
    ImageBuildModule,
  ],
})
export class AppModule {}
