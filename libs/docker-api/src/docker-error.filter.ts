import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ImageStoreError } from '@cargohold/image-store';

const STATUS = { 'not-found': 404, conflict: 409, invalid: 400 } as const;

/** Errors in the Docker Engine API's own format: `{"message": "..."}` with dockerd's status. */
@Catch()
export class DockerErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('DockerApi');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = 500;
    let message = 'internal server error';
    if (error instanceof ImageStoreError) {
      status = STATUS[error.kind];
      message = error.message;
    } else if (error instanceof HttpException) {
      status = error.getStatus();
      const body = error.getResponse();
      message = typeof body === 'string' ? body : ((body as { message?: string | string[] }).message?.toString() ?? error.message);
    } else {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      if (error instanceof Error) message = error.message;
    }
    if (reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    // A Buffer, not a string: Fastify appends "; charset=utf-8" to a string's JSON type, and the
    // docker CLI reads the message out only when Content-Type is exactly application/json
    // (otherwise it prints the raw body, quotes escaped).
    void reply.status(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify({ message })));
  }
}
