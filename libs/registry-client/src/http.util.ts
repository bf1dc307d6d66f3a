import { abortReason } from './backoff.util';
import { RegistryError, RegistryUnreachableError } from './registry-errors';

const MAX_REDIRECTS = 10;

/** What fetch needs for one registry request; the body is replayable (Buffer) or a one-shot stream. */
export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: Buffer | AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
}

/** The message of the innermost cause of a fetch failure: `connect ECONNREFUSED 127.0.0.1:5000`. */
export function describeNetworkError(error: unknown): string {
  let current: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth++) {
    current = current.cause;
    if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0];
    if (current instanceof Error && current.message) message = current.message;
  }
  return message;
}

/**
 * The error for an aborted request: the caller's own reason, except that our deadlines
 * (AbortSignal.timeout) mean "no answer", a RegistryUnreachableError that may be retried.
 */
export function abortedError(signal: AbortSignal, method: string, url: URL): Error {
  const reason = abortReason(signal);
  if (reason.name !== 'TimeoutError') return reason;
  return new RegistryUnreachableError(`${method} ${redactUrl(url)}: no answer in time`, { cause: reason });
}

/** fetch without automatic redirects; a failure to connect becomes a RegistryUnreachableError. */
export async function fetchOnce(url: URL, init: HttpRequestInit): Promise<Response> {
  try {
    return await fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      signal: init.signal,
      redirect: 'manual',
      ...(init.body !== undefined && !Buffer.isBuffer(init.body) ? { duplex: 'half' as const } : {}),
    });
  } catch (error) {
    if (init.signal?.aborted) throw abortedError(init.signal, init.method, url);
    throw new RegistryUnreachableError(`${init.method} ${redactUrl(url)}: ${describeNetworkError(error)}`, { cause: error });
  }
}

/**
 * fetch that follows redirects itself (GET and HEAD only), dropping `Authorization` as soon as
 * a redirect leaves the origin it was meant for: a presigned S3 URL must never see registry
 * credentials. Returns the final answer and the URL that gave it.
 */
export async function fetchFollowingRedirects(url: URL, init: HttpRequestInit): Promise<{ response: Response; url: URL }> {
  const origin = url.origin;
  let current = url;
  let headers = { ...init.headers };
  for (let hop = 0; ; hop++) {
    const response = await fetchOnce(current, { ...init, headers });
    const location = response.headers.get('location');
    const redirect = [301, 302, 303, 307, 308].includes(response.status) && location !== null;
    if (!redirect || (init.method !== 'GET' && init.method !== 'HEAD')) return { response, url: current };
    await discardBody(response);
    if (hop >= MAX_REDIRECTS) throw new RegistryError(`${init.method} ${redactUrl(url)}: stopped after ${MAX_REDIRECTS} redirects`);
    current = new URL(location, current);
    if (current.origin !== origin) headers = withoutAuthorization(headers);
  }
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}

/** Reads a body into memory, refusing more than `limit` bytes (manifests, error bodies, token answers). */
export async function readBodyLimited(response: Response, limit: number, what: string): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await discardBody(response);
    throw new RegistryError(`${what} is ${declared} bytes, more than the ${limit} allowed`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > limit) {
      await response.body.cancel().catch(() => undefined);
      throw new RegistryError(`${what} is larger than the ${limit} bytes allowed`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Reads up to `limit` bytes of text and drops the rest (error bodies are only for messages). */
export async function readTextPrefix(response: Response, limit = 64 * 1024): Promise<string> {
  if (!response.body) return '';
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      chunks.push(Buffer.from(chunk));
      total += chunk.byteLength;
      if (total >= limit) break;
    }
  } catch {
    // a broken error body still leaves the status to report
  }
  await response.body.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** Lets the connection be reused without reading what nobody needs. */
export async function discardBody(response: Response): Promise<void> {
  if (response.body && !response.bodyUsed) await response.body.cancel().catch(() => undefined);
}

/** A URL for messages: without credentials and query string (upload `_state` and presigned signatures are secrets). */
export function redactUrl(url: URL | string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString();
}
