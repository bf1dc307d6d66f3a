import { Controller, Get, UseFilters } from '@nestjs/common';
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
    return this.documents.get();
  }
}
