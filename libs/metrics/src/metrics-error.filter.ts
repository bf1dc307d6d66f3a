import { Catch, HttpException, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** The realm of the bearer challenge: the native API's, since the same tokens are asked for. */
const REALM = 'cargohold';

/** Errors of `/metrics` as the native API answers them: `{"message": …}`, a 401 with the bearer challenge. */
@Catch()
export class MetricsErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Metrics');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = 500;
    let message = 'internal server error';
    if (error instanceof HttpException) {
      status = error.getStatus();
      const body = error.getResponse();
      message = typeof body === 'string' ? body : ((body as { message?: string | string[] }).message?.toString() ?? error.message);
    } else {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    if (reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    if (status === 401) void reply.header('www-authenticate', `Bearer realm="${REALM}"`);
    void reply.status(status).header('content-type', 'application/json').send({ message });
  }
}
