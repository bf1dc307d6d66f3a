import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { JobProducer, type JobItemOf } from '@cargohold/queue';
import type { JobName, JobResult } from '@cargohold/queue-contracts';
import { JsonMessageStream } from './json-stream.util';

export interface JobStreamOptions {
  /** dockerd's `load` answers 200 and reports every failure inside the stream. */
  errorsInStream?: boolean;
  /** A client that disconnects cancels the job (a build), instead of leaving it to finish. */
  cancelOnDisconnect?: boolean;
}

/**
 * Runs a job and relays its progress as Docker's JSON stream. As in dockerd, a failure before
 * anything was written is a plain `{"message"}` response, with the status the job reported in
 * its failure line (`errorDetail.code`, see failureProgress) or 500; after that, failures are
 * `errorDetail` lines in the stream.
 */
@Injectable()
export class JobStreamService {
  constructor(private readonly producer: JobProducer) {}

  async run<N extends JobName>(
    reply: FastifyReply,
    item: JobItemOf<N>,
    finish: (result: JobResult<N>, out: JsonMessageStream) => void,
    options: JobStreamOptions = {},
  ): Promise<void> {
    reply.hijack();
    const out = new JsonMessageStream(reply.raw);
    let failure: { status: number; message: string } | null = null;
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort(new Error('client disconnected'));
    });
    try {
      const result = await this.producer.follow(
        item,
        (p) => {
          if (failure) return;
          if (p.errorDetail) {
            failure = { status: p.errorDetail.code ?? 500, message: p.errorDetail.message };
            if (!out.headersSent && !options.errorsInStream) return;
          }
          out.write(p);
        },
        abort.signal,
        { cancelOnAbort: options.cancelOnDisconnect },
      );
      finish(result, out);
    } catch (err) {
      const reported = failure as { status: number; message: string } | null;
      const message = reported?.message ?? (err instanceof Error ? err.message : String(err));
      if (!out.headersSent && !options.errorsInStream) {
        reply.raw.writeHead(reported?.status ?? 500, { 'Content-Type': 'application/json' });
        reply.raw.end(JSON.stringify({ message }));
        return;
      }
      // A failure line the job already wrote is not repeated.
      if (!reported || !out.headersSent) out.fail(message);
    }
    out.end();
  }
}
