import { Readable } from 'node:stream';
import { abortReason, backoffDelay, sleep } from './backoff.util';
import { contentRangeStart, rangeFrom } from './content-range.util';
import { describeNetworkError, discardBody } from './http.util';
import { repositoryScope } from './registry-auth';
import type { OpenBlobOptions } from './registry-client.types';
import type { RegistryEndpoint } from './registry-endpoints.util';
import { RegistryError } from './registry-errors';
import type { RegistryTransport } from './registry-transport';

/** A connection that delivers nothing for this long is treated as broken and resumed. */
const IDLE_TIMEOUT_MS = 60_000;

export interface BlobDownload {
  repo: string;
  digest: string;
  size: number;
  options: OpenBlobOptions;
}

/** Data that cannot become right by asking again: the resume loop gives up at once. */
class FatalBlobError extends RegistryError {}

/**
 * The blob as one Readable that survives broken connections: each break re-requests the rest
 * with `Range: bytes=<position>-`. `retries` bounds the consecutive attempts that make no progress.
 */
export function openBlobStream(transport: RegistryTransport, download: BlobDownload): Readable {
  return Readable.from(blobChunks(transport, download), { objectMode: false, highWaterMark: 1024 * 1024 });
}

async function* blobChunks(transport: RegistryTransport, { repo, digest, size, options }: BlobDownload): AsyncGenerator<Buffer> {
  const { signal, onProgress } = options;
  let position = options.offset ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`blob size must be a non-negative integer, got ${size}`);
  if (!Number.isSafeInteger(position) || position < 0 || position > size) throw new RangeError(`blob offset must be between 0 and ${size}, got ${position}`);
  let endpoint: RegistryEndpoint | undefined;
  let fruitless = 0;
  let lastError: unknown;

  const open = async (ep: RegistryEndpoint, from: number, attemptSignal: AbortSignal): Promise<Response> => {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (from > 0) headers.range = rangeFrom(from);
    const { response } = await transport.send(ep, {
      method: 'GET',
      url: `/v2/${repo}/blobs/${digest}`,
      headers,
      scopes: [repositoryScope(repo, ['pull'])],
      signal: attemptSignal,
    });
    if (response.status === 200 || response.status === 206) return response;
    throw await transport.fail(response);
  };

  for (;;) {
    const idle = new AbortController();
    const attemptSignal = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
    let progressed = false;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // Armed only while waiting on the registry: a slow consumer (backpressure at `yield`) is not a stall.
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      timer = setTimeout(() => idle.abort(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)), IDLE_TIMEOUT_MS);
    };
    const disarm = (): void => clearTimeout(timer);
    try {
      arm();
      const from = position;
      const response = endpoint
        ? await open(endpoint, from, attemptSignal)
        : await transport.onRead(async (ep) => {
            const r = await open(ep, from, attemptSignal);
            endpoint = ep;
            return r;
          }, signal);
      // A server that ignores Range answers 200 with the whole blob: skip what we already have.
      let skip = 0;
      if (response.status === 206) {
        const start = contentRangeStart(response.headers.get('content-range'));
        if (start !== from) {
          await discardBody(response);
          throw new FatalBlobError(`the registry answered the range request for ${digest} from byte ${from} with ${response.headers.get('content-range') ?? 'no Content-Range'}`);
        }
      } else {
        skip = from;
      }
      disarm();
      if (!response.body) throw new Error('empty response body');
      reader = response.body.getReader();
      for (;;) {
        arm();
        const { done, value } = await reader.read();
        disarm();
        if (done) break;
        let chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        if (skip > 0) {
          const dropped = Math.min(skip, chunk.length);
          skip -= dropped;
          chunk = chunk.subarray(dropped);
          if (chunk.length === 0) continue;
        }
        if (position + chunk.length > size) {
          throw new FatalBlobError(`size mismatch for ${digest}: the registry sent more than the ${size} bytes expected`, { code: 'SIZE_INVALID' });
        }
        position += chunk.length;
        progressed = true;
        onProgress?.(position);
        yield chunk;
      }
      reader = undefined;
      if (position >= size) return;
      lastError = new Error(`the connection ended after ${position} of ${size} bytes`);
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (error instanceof FatalBlobError) throw error;
      // 4xx answers (unknown blob, denied) do not get better by resuming.
      if (error instanceof RegistryError && error.status !== undefined && error.status < 500 && error.status !== 429 && error.status !== 408) throw error;
      lastError = error;
    } finally {
      disarm();
      if (reader) await reader.cancel().catch(() => undefined);
    }
    if (progressed) fruitless = 0;
    if (fruitless >= transport.retries) {
      throw new RegistryError(
        `download of ${digest} failed at byte ${position} of ${size} after ${fruitless + 1} attempts without progress: ${describeNetworkError(lastError)}`,
        { cause: lastError },
      );
    }
    await sleep(backoffDelay(fruitless), signal);
    fruitless++;
  }
}
