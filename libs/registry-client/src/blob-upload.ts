import type { Readable } from 'node:stream';
import { abortReason, backoffDelay, sleep } from './backoff.util';
import { uploadContentRange, uploadedBytes } from './content-range.util';
import { discardBody } from './http.util';
import { repositoryScope } from './registry-auth';
import type { BlobBodyFactory, UploadBlobOptions } from './registry-client.types';
import type { RegistryEndpoint } from './registry-endpoints.util';
import { RegistryError, RegistryUnreachableError } from './registry-errors';
import type { RegistryTransport, TransportResponse } from './registry-transport';

export const DEFAULT_CHUNK_SIZE = 32 * 1024 * 1024;

export interface BlobUpload {
  repo: string;
  digest: string;
  size: number;
  body: BlobBodyFactory;
  options: UploadBlobOptions;
}

/** The caller's blob source failed or lied about its size: never retried. */
class BlobSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlobSourceError';
  }
}

/** Hands out exactly-sized slices of a stream, streaming (no slice is held whole in memory). */
class SliceReader {
  private readonly iterator: AsyncIterator<unknown>;
  private leftover: Buffer | null = null;
  private consumed = 0;
  failure: BlobSourceError | undefined;

  constructor(
    source: Readable,
    private readonly total: number,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async next(): Promise<Buffer | null> {
    if (this.leftover) {
      const chunk = this.leftover;
      this.leftover = null;
      return chunk;
    }
    let result: IteratorResult<unknown>;
    try {
      result = await this.iterator.next();
    } catch (error) {
      throw this.fail(`reading the blob source failed: ${(error as Error).message}`, error);
    }
    if (result.done) return null;
    const value = result.value;
    return Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value) : Buffer.from(value as Uint8Array);
  }

  private fail(message: string, cause?: unknown): BlobSourceError {
    this.failure ??= new BlobSourceError(message, { cause });
    return this.failure;
  }

  /** The next `length` bytes; errors when the source ends early, or has more than `total` in all. */
  async *take(length: number, onProgress?: (bytes: number) => void): AsyncGenerator<Uint8Array> {
    let left = length;
    while (left > 0) {
      let chunk = await this.next();
      if (chunk === null) throw this.fail(`the blob source ended after ${this.consumed} of the ${this.total} bytes declared`);
      if (chunk.length === 0) continue;
      if (chunk.length > left) {
        this.leftover = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      this.consumed += chunk.length;
      onProgress?.(this.consumed);
      yield chunk;
    }
    if (this.consumed === this.total && !(await this.atEnd())) {
      throw this.fail(`the blob source holds more than the ${this.total} bytes declared`);
    }
  }

  private async atEnd(): Promise<boolean> {
    for (;;) {
      const chunk = await this.next();
      if (chunk === null) return true;
      if (chunk.length > 0) {
        this.leftover = chunk;
        return false;
      }
    }
  }
}

function isRetryable(error: unknown): boolean {
  if (error instanceof BlobSourceError) return false;
  if (error instanceof RegistryUnreachableError) return true;
  if (error instanceof RegistryError) return error.status === undefined || error.status >= 500 || error.status === 429 || error.status === 408;
  return false;
}

/**
 * Uploads a blob (POST, then one PUT, or PATCH chunks and a closing PUT). A failed attempt is
 * cancelled on the registry and the whole upload starts again from a fresh `body()`.
 */
export function uploadBlobWith(transport: RegistryTransport, upload: BlobUpload): Promise<void> {
  const { size, options } = upload;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`blob size must be a non-negative integer, got ${size}`);
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  return transport.onWrite(async (endpoint) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await uploadOnce(transport, endpoint, upload, chunkSize);
        return;
      } catch (error) {
        if (options.signal?.aborted) throw abortReason(options.signal);
        if (!isRetryable(error) || attempt >= transport.retries) throw error;
        await sleep(backoffDelay(attempt), options.signal);
      }
    }
  }, options.signal);
}

async function uploadOnce(transport: RegistryTransport, endpoint: RegistryEndpoint, upload: BlobUpload, chunkSize: number): Promise<void> {
  const { repo, digest, size, options } = upload;
  const { signal, onProgress } = options;
  const scopes = [repositoryScope(repo, ['pull', 'push'])];
  const source = await upload.body();
  const slices = new SliceReader(source, size);
  let location: URL | undefined;
  try {
    const started = await transport.send(endpoint, { method: 'POST', url: `/v2/${repo}/blobs/uploads/`, headers: { 'content-length': '0' }, scopes, signal });
    location = await nextLocation(transport, started, 202, `starting the upload of ${digest}`);
    const octets = { 'content-type': 'application/octet-stream' };
    if (size <= chunkSize) {
      const body = size === 0 ? Buffer.alloc(0) : slices.take(size, onProgress);
      const done = await transport.send(endpoint, { method: 'PUT', url: withDigest(location, digest), headers: { ...octets, 'content-length': String(size) }, body, scopes, signal });
      await expectStatus(transport, done, 201);
      location = undefined;
      return;
    }
    for (let offset = 0; offset < size; ) {
      const length = Math.min(chunkSize, size - offset);
      const patched = await transport.send(endpoint, {
        method: 'PATCH',
        url: location.toString(),
        headers: { ...octets, 'content-length': String(length), 'content-range': uploadContentRange(offset, length) },
        body: slices.take(length, onProgress),
        scopes,
        signal,
      });
      const acknowledged = uploadedBytes(patched.response.headers.get('range'));
      location = await nextLocation(transport, patched, 202, `uploading ${digest}`);
      offset += length;
      if (acknowledged !== null && acknowledged !== offset) {
        throw new RegistryError(`the registry holds ${acknowledged} bytes of the upload of ${digest}, but ${offset} were sent`);
      }
    }
    const done = await transport.send(endpoint, { method: 'PUT', url: withDigest(location, digest), headers: { 'content-length': '0' }, scopes, signal });
    await expectStatus(transport, done, 201);
    location = undefined;
  } catch (error) {
    if (location) await cancelUpload(transport, endpoint, location, scopes);
    throw slices.failure ?? error;
  } finally {
    source.destroy();
  }
}

async function expectStatus(transport: RegistryTransport, { response }: TransportResponse, status: number): Promise<void> {
  if (response.status !== status) throw await transport.fail(response);
  await discardBody(response);
}

/** The upload URL for the next request, from the answer's Location (relative or absolute). */
async function nextLocation(transport: RegistryTransport, answer: TransportResponse, status: number, what: string): Promise<URL> {
  await expectStatus(transport, answer, status);
  const location = answer.response.headers.get('location');
  if (!location) throw new RegistryError(`${what}: the registry answered ${status} without a Location header`);
  return new URL(location, answer.url);
}

/** `?digest=` appended without re-encoding the registry's own query (its `_state` is opaque). */
function withDigest(location: URL, digest: string): string {
  const base = location.toString();
  return `${base}${location.search ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/** Best effort: a leftover upload only costs the registry some disk until its purge runs. */
async function cancelUpload(transport: RegistryTransport, endpoint: RegistryEndpoint, location: URL, scopes: readonly string[]): Promise<void> {
  try {
    const { response } = await transport.send(endpoint, { method: 'DELETE', url: location.toString(), scopes, signal: AbortSignal.timeout(10_000) });
    await discardBody(response);
  } catch {
    // the upload is abandoned either way
  }
}
