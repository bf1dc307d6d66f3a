import { Module } from '@nestjs/common';
import { DockerApiModule } from '@cargohold/docker-api';
import { BlobStoreModule, ConfigModule, DatabaseModule, HealthModule, LoggingModule, QueueModule } from '@cargohold/platform';

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forRoot({ app: 'gateway', requestLogging: true }),
    DatabaseModule,
    BlobStoreModule,
    QueueModule.forRoot(),
    HealthModule,
    DockerApiModule,
  ],
})
export class AppModule {}
