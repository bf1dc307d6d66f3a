import { Module } from '@nestjs/common';
import { ArchiveLoaderModule } from '@cargohold/archive-loader';
import { ImageImportModule } from '@cargohold/image-import';
import { BlobStoreModule, ConfigModule, DatabaseModule, LoggingModule, QueueModule, RegistryClientModule } from '@cargohold/platform';
import { QueueName } from '@cargohold/queue-contracts';
import { RegistrySyncWorkerModule } from '@cargohold/registry-sync';

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forRoot({ app: 'puller' }),
    DatabaseModule,
    BlobStoreModule,
    QueueModule.forWorker(QueueName.Puller),
    RegistryClientModule,
    ArchiveLoaderModule,
    ImageImportModule,
    RegistrySyncWorkerModule,
  ],
})
export class AppModule {}
