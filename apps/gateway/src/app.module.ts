import { Module } from '@nestjs/common';
import { DockerApiModule } from '@cargohold/docker-api';
import { BlobStoreModule, ConfigModule, DatabaseModule, HealthModule, LoggingModule, QueueModule, RegistryClientModule } from '@cargohold/platform';

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forRoot({ app: 'gateway', requestLogging: true }),
    DatabaseModule,
    BlobStoreModule,
    QueueModule.forRoot(),
    RegistryClientModule,
    HealthModule,
    DockerApiModule,
  ],
})
export class AppModule {}
