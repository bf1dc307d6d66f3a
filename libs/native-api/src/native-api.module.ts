import { Module } from '@nestjs/common';
import { AuthModule } from '@cargohold/auth';
import { NativeApiAuthGuard } from './native-api-auth.guard';
import { OpenApiController } from './openapi.controller';
import { DOCUMENTED_CONTROLLERS, OpenApiDocumentService } from './openapi-document.service';
import { TokensController } from './tokens.controller';

/** cargohold's own HTTP API under `/api/v1` (token management) and its OpenAPI document. */
@Module({
  imports: [AuthModule],
  controllers: [TokensController, OpenApiController],
  providers: [NativeApiAuthGuard, OpenApiDocumentService, { provide: DOCUMENTED_CONTROLLERS, useValue: [TokensController] }],
})
export class NativeApiModule {}
