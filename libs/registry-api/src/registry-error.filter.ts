import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { RegistryApiError } from './registry-errors';

/** Every /v2/ failure in the distribution-spec body: `{"errors":[{"code","message","detail"}]}`. */
@Catch()
export class RegistryErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('RegistryApi');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = 500;
    let body: { code: string; message: string; detail?: unknown } = { code: 'UNKNOWN', message: 'unknown error' };
    if (error instanceof RegistryApiError) {
      status = error.status;
      body = { code: error.code, message: error.message, detail: error.detail };
    } else if (error instanceof HttpException) {
      status = error.getStatus();
      body = { code: status === 404 ? 'NOT_FOUND' : 'UNKNOWN', message: error.message };
    } else {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    if (error instanceof RegistryApiError) for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
    void reply
      .status(status)
      .header('docker-distribution-api-version', 'registry/2.0')
      .header('content-type', 'application/json')
      .send(JSON.stringify({ errors: [body] }));
  }
}
