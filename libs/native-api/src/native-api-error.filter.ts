import { Catch, HttpException, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { InvalidTokenRequestError, TokenNotFoundError } from '@cargohold/auth';
import { PruneScheduleNameTakenError, PruneScheduleNotFoundError } from '@cargohold/platform';

/** The realm of the native API's bearer challenge. */
export const NATIVE_API_REALM = 'cargohold';

/** Every native API error as `{"message": "..."}`; a 401 carries the bearer challenge. */
@Catch()
export class NativeApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('NativeApi');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, message } = this.describe(error);
    if (reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    if (status === 401) void reply.header('www-authenticate', `Bearer realm="${NATIVE_API_REALM}"`);
    void reply.status(status).header('content-type', 'application/json').send({ message });
  }

  private describe(error: unknown): { status: number; message: string } {
    if (error instanceof HttpException) {
      const body = error.getResponse();
      const message = typeof body === 'string' ? body : ((body as { message?: string | string[] }).message?.toString() ?? error.message);
      return { status: error.getStatus(), message };
    }
    if (error instanceof TokenNotFoundError) return { status: 404, message: error.message };
    if (error instanceof InvalidTokenRequestError) return { status: 400, message: error.message };
    if (error instanceof PruneScheduleNotFoundError) return { status: 404, message: error.message };
    if (error instanceof PruneScheduleNameTakenError) return { status: 409, message: error.message };
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return { status: 500, message: 'internal server error' };
  }
}
