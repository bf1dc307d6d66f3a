import { Logger as NestLogger } from '@nestjs/common';
import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { WorkerHost } from '@cargohold/queue';

/**
 * Boots a worker: a Nest application context (no HTTP) whose module imports
 * `QueueModule.forWorker(queue)`. Resolves once the WorkerHost consumes its queue; SIGTERM/SIGINT
 * close it gracefully (running jobs are handed back to the queue).
 */
export async function createWorkerApp(module: Type<unknown>): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(module, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const host = app.get(WorkerHost);
  new NestLogger('Bootstrap').log(`worker ${host.queue} ready`);
  return app;
}
