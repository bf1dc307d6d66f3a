import { Module } from '@nestjs/common';
import { AuthModule } from '@cargohold/auth';
import { ClusterMetricsService } from './cluster-metrics.service';
import { HttpMetricsService } from './http-metrics.service';
import { MetricsAuthGuard } from './metrics-auth.guard';
import { MetricsController } from './metrics.controller';
import { metricsRegistryProvider } from './metrics-registry.provider';
import { QueueCountsRepository } from './queue-counts.repository';
import { StoreCountsRepository } from './store-counts.repository';
import { SweepRecordsRepository } from './sweep-records.repository';

/**
 * `GET /metrics` on the gateway (ADR 0009): process metrics, HTTP requests by API and route,
 * and the shared cluster state. Needs the Fastify adapter, the global DataSource
 * (DatabaseModule) and QueueModule.forRoot (JobProducer, REDIS_CONNECTION).
 */
@Module({
  imports: [AuthModule],
  controllers: [MetricsController],
  providers: [
    metricsRegistryProvider,
    HttpMetricsService,
    ClusterMetricsService,
    StoreCountsRepository,
    QueueCountsRepository,
    SweepRecordsRepository,
    MetricsAuthGuard,
  ],
})
export class MetricsModule {}
