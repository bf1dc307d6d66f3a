import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export interface HttpSourceOptions {
  /** Refuse a body announced (Content-Length) as larger than this. */
  maxBytes: number;
  /** Give up when the TCP connection is not up after this long. */
  connectTimeoutMs: number;
  /** Give up when the server sends nothing for this long (headers or body). */
  idleTimeoutMs: number;
  /** Aborts the request (worker shutdown). */
  signal?: AbortSignal;
}

export interface HttpSource {
  /** The URL after adding a missing scheme; what dockerd prints in `Downloading from …`. */
  url: string;
  body: Readable;
  /** Content-Length, when the server sent one. */
  size: number | null;
}

/** Fetching the source failed. `permanent` when a retry cannot help (bad URL, 4xx). */
export class HttpSourceError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'HttpSourceError';
  }
}

const MAX_REDIRECTS = 10;
const MAX_ERROR_BODY = 4096;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// DNS failures that are not timeouts: dockerd answers them as "not found", not as a retryable error.
const PERMANENT_NET_ERRORS = new Set(['ENOTFOUND']);

/** dockerd's rule for `fromSrc`: a value without `://` is an http URL. */
export function sourceUrlOf(fromSrc: string): string {
  return fromSrc.includes('://') ? fromSrc : `http://${fromSrc}`;
}

function get(url: URL, options: HttpSourceOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    // A fresh socket per request (agent: false), so the connect timer measures a real connect.
    const req = client.request(url, { method: 'GET', agent: false, signal: options.signal, headers: { 'accept-encoding': 'identity' } });
    const connectTimer = setTimeout(() => {
      req.destroy(new HttpSourceError(`Get "${url.href}": no connection after ${options.connectTimeoutMs / 1000} s`, false));
    }, options.connectTimeoutMs);
    req.once('socket', (socket) => socket.once('connect', () => clearTimeout(connectTimer)));
    req.setTimeout(options.idleTimeoutMs, () => {
      req.destroy(new HttpSourceError(`Get "${url.href}": nothing received for ${options.idleTimeoutMs / 1000} s`, false));
    });
    req.once('response', (res) => {
      clearTimeout(connectTimer);
      resolve(res);
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      if (err instanceof HttpSourceError || err.name === 'AbortError') return reject(err);
      reject(new HttpSourceError(`Get "${url.href}": ${err.message}`, PERMANENT_NET_ERRORS.has(err.code ?? '')));
    });
    req.end();
  });
}

async function readSome(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of res) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= limit) break;
  }
  res.destroy();
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/**
 * GETs an import source as dockerd's `remotecontext.GetWithStatusError` does: http and https
 * only, redirects followed, an error status refused with the start of the body in the message.
 */
export async function openHttpSource(fromSrc: string, options: HttpSourceOptions): Promise<HttpSource> {
  const address = sourceUrlOf(fromSrc);
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new HttpSourceError(`parse "${address}": invalid URL`, true);
  }
  for (let redirects = 0; ; redirects += 1) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new HttpSourceError(`Get "${url.href}": unsupported protocol scheme "${url.protocol.slice(0, -1)}"`, true);
    }
    const res = await get(url, options);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECTS.has(status) && location) {
      res.resume();
      if (redirects >= MAX_REDIRECTS) throw new HttpSourceError(`Get "${location}": stopped after ${MAX_REDIRECTS} redirects`, true);
      url = new URL(location, url);
      continue;
    }
    if (status >= 400) {
      const body = (await readSome(res, MAX_ERROR_BODY)).trim();
      // 4xx will not change on a retry; 5xx may.
      throw new HttpSourceError(`failed to GET ${address} with status ${status} ${http.STATUS_CODES[status] ?? ''}: ${body}`, status < 500);
    }
    const announced = res.headers['content-length'];
    const size = announced !== undefined && /^\d+$/.test(announced) ? Number(announced) : null;
    if (size !== null && size > options.maxBytes) {
      res.destroy();
      throw new HttpSourceError(`${address} is ${size} bytes, more than the import limit of ${options.maxBytes} bytes`, true);
    }
    return { url: address, body: res, size };
  }
}
