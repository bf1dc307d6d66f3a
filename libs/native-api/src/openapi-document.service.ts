import { Inject, Injectable } from '@nestjs/common';
import type { INestApplication, Type } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';

/** Injection token: the controllers the document describes. */
export const DOCUMENTED_CONTROLLERS = Symbol('DocumentedControllers');

/** Path of the document; the gateway strips only a leading `/vX.Y`, so `/api/v1/…` arrives as is. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

/**
 * The OpenAPI document of the native API, built from its controllers' decorators on first use.
 * SwaggerModule wants the application object, which modules never see (the gateway creates it
 * in @cargohold/platform); it reads only the module container, the application config and the
 * HTTP adapter from it, so those are handed over instead. The e2e test checks the result.
 */
@Injectable()
export class OpenApiDocumentService {
  private document: OpenAPIObject | undefined;

  constructor(
    private readonly modules: ModulesContainer,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(DOCUMENTED_CONTROLLERS) private readonly controllers: readonly Type<unknown>[],
  ) {}

  get(): OpenAPIObject {
    this.document ??= this.build();
    return this.document;
  }

  private build(): OpenAPIObject {
    const documented = new Map([...this.modules].filter(([, module]) => this.controllers.some((c) => module.controllers.has(c))));
    const app = {
      container: { getModules: () => documented, isGlobalModule: () => false },
      config: new ApplicationConfig(),
      getHttpAdapter: () => this.adapterHost.httpAdapter,
    } as unknown as INestApplication;
    const config = new DocumentBuilder()
      .setTitle('cargohold native API')
      .setDescription(
        'Manages cargohold itself. With CARGOHOLD_AUTH=on every route takes `Authorization: Bearer <token>` with the admin action on `**` (or CARGOHOLD_ADMIN_TOKEN).',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API token (`chk_…`) or CARGOHOLD_ADMIN_TOKEN' })
      .build();
    return SwaggerModule.createDocument(app, config);
  }
}
