import { Worker } from 'node:worker_threads';

// Runs in a worker thread: hashes what it is sent, acknowledges each chunk's size, answers the
// hex digest to `null`. Inline source, so it runs the same from TypeScript (tests) and dist.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m === null) return parentPort.postMessage(hash.digest('hex'));
  hash.update(new Uint8Array(m));
  parentPort.postMessage(m.byteLength);
});
`;

/** Bytes sent but not yet hashed before `update` waits: bounds memory when hashing lags. */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;

/**
 * sha256 on another thread. A pulled layer is hashed twice (compressed for the blob, uncompressed
 * for its diff ID): this takes the second hash off the thread that streams and stores, so the two
 * run on two cores. Chunks are copied once and transferred; `update` waits when the worker falls
 * more than 16 MiB behind.
 */
export class ThreadedSha256 {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private inFlight = 0;
  private drained: (() => void) | null = null;
  private result: { resolve: (hex: string) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor() {
    this.worker.on('message', (message: number | string) => {
      if (typeof message === 'string') {
        this.result?.resolve(message);
        return;
      }
      this.inFlight -= message;
      if (this.drained && this.inFlight <= MAX_IN_FLIGHT / 2) {
        const wake = this.drained;
        this.drained = null;
        wake();
      }
    });
    this.worker.on('error', (error: Error) => this.fail(error));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`hash worker exited with code ${code}`));
    });
  }

  async update(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const copy = new Uint8Array(chunk);
    this.inFlight += copy.byteLength;
    this.worker.postMessage(copy.buffer, [copy.buffer]);
    if (this.inFlight > MAX_IN_FLIGHT) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
      if (this.failure) throw this.failure;
    }
  }

  /** The hex digest of everything updated; ends the worker. */
  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    const hex = new Promise<string>((resolve, reject) => {
      this.result = { resolve, reject };
    });
    this.worker.postMessage(null);
    try {
      return await hex;
    } finally {
      await this.destroy();
    }
  }

  /** Stops the worker (also when the hash is abandoned). */
  async destroy(): Promise<void> {
    await this.worker.terminate().catch(() => undefined);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.result?.reject(error);
    this.drained?.();
    this.drained = null;
  }
}
