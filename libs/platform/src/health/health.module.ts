import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { ReadinessService } from './readiness.service';

/**
 * `GET /healthz` (liveness) and `GET /readyz` (Redis, database, blob store) for the gateway.
 * Needs DatabaseModule, BlobStoreModule and QueueModule imported by the app.
 */
@Module({
  controllers: [HealthController],
  providers: [ReadinessService],
})
export class HealthModule {}
