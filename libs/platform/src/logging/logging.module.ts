import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { Params } from 'nestjs-pino';
import { APP_CONFIG } from '@cargohold/config';
import type { AppConfig } from '@cargohold/config';

export interface LoggingOptions {
  /** Service name written into every line (`"name":"gateway"`); the embedded mode interleaves four. */
  app: string;
  /** One line per HTTP request (gateway only; health probes and metrics scrapes excluded). */
  requestLogging?: boolean;
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** Middleware sees `req.url` relative to its mount point; `originalUrl` is the routed path. */
function isProbe(req: IncomingMessage & { originalUrl?: string }): boolean {
  return PROBES.has((req.originalUrl ?? req.url ?? '').split('?')[0]);
}

/** JSON lines to stdout at `config.logLevel` (nestjs-pino); no pretty printing, ever. */
@Module({})
export class LoggingModule {
  static forRoot(options: LoggingOptions): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig): Params => ({
            pinoHttp: {
              name: options.app,
              level: config.logLevel,
              autoLogging: options.requestLogging ? { ignore: isProbe } : false,
              // Registry credentials travel in these headers (docker login / push / pull).
              redact: {
                paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-registry-auth"]', 'req.headers["x-registry-config"]'],
                censor: '[redacted]',
              },
            },
          }),
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
