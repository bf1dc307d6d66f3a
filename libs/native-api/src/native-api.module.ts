import { Module } from '@nestjs/common';
import type { INestApplication, Type } from '@nestjs/common';
import { AuthModule } from '@cargohold/auth';
import { PruneSchedulesModule } from '@cargohold/platform';
import { GcJobsService } from './gc-jobs.service';
import { GcController } from './gc.controller';
import { NativeApiAuthGuard } from './native-api-auth.guard';
import { OpenApiController } from './openapi.controller';
import { OpenApiDocumentService } from './openapi-document.service';
import { PruneSchedulesController } from './prune-schedules.controller';
import { TokensController } from './tokens.controller';

/**
 * cargohold's own HTTP API under `/api/v1` (tokens, prune schedules, gc runs) and its OpenAPI
 * document. Needs the global DataSource and JobProducer (QueueModule.forRoot).
 */
@Module({
  imports: [AuthModule, PruneSchedulesModule],
  controllers: [TokensController, PruneSchedulesController, GcController, OpenApiController],
  providers: [NativeApiAuthGuard, OpenApiDocumentService, GcJobsService],
})
export class NativeApiModule {}

/**
 * Builds the native API's OpenAPI document from the running application (call before listen),
 * with the routes of `also` (other modules served under the same admin tokens, such as /metrics).
 */
export function publishOpenApi(app: INestApplication, also: Array<Type<unknown>> = []): void {
  app.get(OpenApiDocumentService).build(app, [NativeApiModule, ...also]);
}
