import { Module } from '@nestjs/common';
import { AuthModule } from '@cargohold/auth';
import { DockerApiModule } from '@cargohold/docker-api';
import { MetricsModule } from '@cargohold/metrics';
import { NativeApiModule } from '@cargohold/native-api';
import { RegistryApiModule } from '@cargohold/registry-api';
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
    AuthModule,
    DockerApiModule,
    NativeApiModule,
    RegistryApiModule,
    MetricsModule,
  ],
})
export class AppModule {}
