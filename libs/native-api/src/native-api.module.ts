import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { AuthModule } from '@cargohold/auth';
import { NativeApiAuthGuard } from './native-api-auth.guard';
import { OpenApiController } from './openapi.controller';
import { OpenApiDocumentService } from './openapi-document.service';
import { TokensController } from './tokens.controller';

/** cargohold's own HTTP API under `/api/v1` (token management) and its OpenAPI document. */
@Module({
  imports: [AuthModule],
  controllers: [TokensController, OpenApiController],
  providers: [NativeApiAuthGuard, OpenApiDocumentService],
})
export class NativeApiModule {}

/** Builds the native API's OpenAPI document from the running application (call before listen). */
export function publishOpenApi(app: INestApplication): void {
  app.get(OpenApiDocumentService).build(app, [NativeApiModule]);
}
