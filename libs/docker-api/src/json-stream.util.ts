import type { ServerResponse } from 'node:http';
import type { DockerProgress } from '@cargohold/queue-contracts';

/**
 * Docker's newline-delimited JSON progress stream on a raw response. Headers go out with the
 * first line, so errors before it can still be a plain JSON error response.
 */
export class JsonMessageStream {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  get headersSent(): boolean {
    return this.started;
  }

  write(message: DockerProgress): void {
    this.start();
    this.res.write(`${JSON.stringify(message)}\n`);
  }

  /** A failure mid-stream, as the CLI expects it (`errorDetail` + `error`). */
  fail(message: string): void {
    this.write({ errorDetail: { message }, error: message });
  }

  end(): void {
    this.start();
    this.res.end();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'Content-Type': 'application/json' });
  }
}
