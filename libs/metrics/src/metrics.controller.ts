import { Controller, Get, Header, Inject, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { ClusterMetricsService } from './cluster-metrics.service';
import { MetricsAuthGuard } from './metrics-auth.guard';
import { MetricsErrorFilter } from './metrics-error.filter';

const ERROR_SCHEMA = { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] };

/** `GET /metrics`: Prometheus text exposition of this gateway and of the cluster state. */
@ApiTags('metrics')
@ApiBearerAuth()
@Controller()
@UseGuards(MetricsAuthGuard)
@UseFilters(MetricsErrorFilter)
export class MetricsController {
  constructor(
    @Inject(Registry) private readonly registry: Registry,
    @Inject(ClusterMetricsService) private readonly cluster: ClusterMetricsService,
  ) {}

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Prometheus text format 0.0.4: this gateway process (process_*, nodejs_*), the HTTP requests it served (cargohold_http_*), and the cluster state every replica reports alike (images, blobs, build cache, containers, queue jobs, the last gc sweep), read at most every 5 s. With CARGOHOLD_AUTH=on it takes a bearer token with the admin action on `**`.',
  })
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'The metrics', schema: { type: 'string' } })
  @ApiUnauthorizedResponse({ description: 'No bearer token, or not a valid one', schema: ERROR_SCHEMA })
  @ApiForbiddenResponse({ description: 'The token may not read metrics (needs admin on `**`)', schema: ERROR_SCHEMA })
  async metrics(): Promise<string> {
    await this.cluster.update();
    return this.registry.metrics();
  }
}
