import type { IncomingMessage } from 'node:http';
import { Logger as NestLogger } from '@nestjs/common';
import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { APP_CONFIG } from '@cargohold/config';
import type { AppConfig } from '@cargohold/config';
import { stripDockerApiVersion } from './docker-api-version.util';
import { registerStreamingBodyParsers } from './streaming-body.parser';

/** Bound on bodies Fastify buffers (JSON, forms); tars and blobs are streamed and not subject to it. */
export const BUFFERED_BODY_LIMIT = 64 * 1024 ** 2;

/**
 * Boots the gateway: Fastify with `/vX.Y` API prefixes stripped before routing, tar and blob
 * bodies streamed, JSON logs, shutdown hooks; listens on config.host:config.port.
 */
export async function createHttpApp(
  module: Type<unknown>,
  name = 'gateway',
  beforeListen?: (app: NestFastifyApplication) => void | Promise<void>,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    rewriteUrl: (req: IncomingMessage) => stripDockerApiVersion(req.url ?? '/'),
    bodyLimit: BUFFERED_BODY_LIMIT,
    // Image references are path parameters and can be long (`host:port/org/team/app@sha256:…`).
    routerOptions: { maxParamLength: 1024 },
    // As dockerd and the registry: HEAD only where a route declares it (Fastify would add one per GET).
    exposeHeadRoutes: false,
  });
  registerStreamingBodyParsers(adapter.getInstance(), BUFFERED_BODY_LIMIT);
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { bufferLogs: true, abortOnError: false, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await beforeListen?.(app);
  const config = app.get<AppConfig>(APP_CONFIG);
  await app.listen(config.port, config.host);
  new NestLogger('Bootstrap').log(`${name} listening on ${await app.getUrl()}`);
  return app;
}
