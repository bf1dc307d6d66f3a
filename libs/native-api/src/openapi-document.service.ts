import { Injectable } from '@nestjs/common';
import type { INestApplication, Type } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';

/** Path of the document; the gateway strips only a leading `/vX.Y`, so `/api/v1/…` arrives as is. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

/**
 * The OpenAPI document of the native API, built from its controllers' decorators once the
 * application exists (SwaggerModule reads routes off the application object, which the gateway
 * hands over before it starts listening: see publishOpenApi).
 */
@Injectable()
export class OpenApiDocumentService {
  private document: OpenAPIObject | undefined;

  get(): OpenAPIObject | undefined {
    return this.document;
  }

  build(app: INestApplication, modules: Array<Type<unknown>>): void {
    const config = new DocumentBuilder()
      .setTitle('cargohold native API')
      .setDescription(
        'Manages cargohold itself. With CARGOHOLD_AUTH=on every route takes `Authorization: Bearer <token>` with the admin action on `**` (or CARGOHOLD_ADMIN_TOKEN).',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API token (`chk_…`) or CARGOHOLD_ADMIN_TOKEN' })
      .build();
    this.document = SwaggerModule.createDocument(app, config, { include: modules });
  }
}
