/** The parts of a Node or streamx writable that backpressure handling needs. */
export interface WritableLike {
  write(chunk: Buffer): boolean;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly destroyed?: boolean;
  readonly destroying?: boolean;
}

function isGone(stream: WritableLike): boolean {
  return stream.destroyed === true || stream.destroying === true;
}

/** Resolves on 'drain'; rejects when the stream errors or closes first (so a writer never hangs). */
export function waitForDrain(stream: WritableLike): Promise<void> {
  if (isGone(stream)) return Promise.reject(new Error('stream was destroyed'));
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: unknown): void => {
      cleanup();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('stream closed while a write was pending'));
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

/** Writes one chunk, waiting for the stream to drain when its buffer is full. */
export async function writeChunk(stream: WritableLike, chunk: Buffer): Promise<void> {
  if (isGone(stream)) throw new Error('stream was destroyed');
  if (!stream.write(chunk)) await waitForDrain(stream);
}

/** Resolves on 'finish'; rejects on 'error', or on 'close' without a finish. */
export function untilFinished(stream: Pick<WritableLike, 'once'>): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    stream.once('finish', () => {
      finished = true;
      resolve();
    });
    stream.once('error', (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
    stream.once('close', () => {
      if (!finished) reject(new Error('stream closed before it finished'));
    });
  });
}

export function noop(): void {}
