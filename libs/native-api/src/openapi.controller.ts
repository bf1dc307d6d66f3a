import { Controller, Get, ServiceUnavailableException, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { NativeApiErrorFilter } from './native-api-error.filter';
import { OpenApiDocumentService } from './openapi-document.service';

/** `GET /api/v1/openapi.json`: public, like any API description (it holds no data). */
@ApiExcludeController()
@Controller('api/v1')
@UseFilters(NativeApiErrorFilter)
export class OpenApiController {
  constructor(private readonly documents: OpenApiDocumentService) {}

  @Get('openapi.json')
  document(): OpenAPIObject {
    const document = this.documents.get();
    if (!document) throw new ServiceUnavailableException('the OpenAPI document is not built yet');
    return document;
  }
}
