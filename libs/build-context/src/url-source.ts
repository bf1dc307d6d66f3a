import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { sourcesChecksum } from './checksum';
import { CopyError } from './errors';
import type { ResolvedSource } from './types';

export interface UrlSourceOptions {
  /** Refuse a download larger than this many bytes. */
  maxBytes: number;
  signal?: AbortSignal;
  /** Where the temporary directory goes; the OS temp dir by default. */
  tmpDir?: string;
}

export interface FetchedUrl {
  /** A file source (`remote: true`, mode 0600) to hand to copyInto and sourcesChecksum. */
  readonly source: ResolvedSource;
  /** The downloaded file. */
  readonly file: string;
  /** sourcesChecksum([source]). */
  readonly checksum: string;
  /** Removes the temporary directory holding the file. */
  dispose(): Promise<void>;
}

/** moby stores a download that names no file under this name. */
const UNNAMED = '__unnamed__';
/** Enough of an error page to explain a failed GET. */
const ERROR_BODY_BYTES = 4096;
/** moby's downloads are written with mode 0600, and ADD keeps it. */
const DOWNLOAD_MODE = 0o600;

function fail(message: string, cause?: unknown): CopyError {
  return new CopyError(`ADD failed: ${message}`, { cause });
}

/**
 * Downloads an `ADD https://…` source into a temporary file, as the legacy builder does: only
 * http(s), redirects followed, a status of 400 or more is an error, the file is named after the
 * URL path's last element (else the Content-Disposition file name, else none), gets mode 0600 and
 * the Last-Modified time (else the epoch). A response larger than `maxBytes` is refused, by its
 * Content-Length or once that many bytes have arrived, and nothing of it is kept.
 */
export async function urlSource(url: string, options: UrlSourceOptions): Promise<FetchedUrl> {
  const parsed = parseHttpUrl(url);
  const response = await get(url, options.signal);
  if (response.status >= 400) {
    const body = await readSome(response, ERROR_BODY_BYTES);
    throw fail(`failed to GET ${url} with status ${response.status} ${response.statusText}: ${body.trim()}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw fail(`${url} is larger than the limit of ${options.maxBytes} bytes (${declared} bytes)`);
  }

  const name = fileNameFor(parsed.pathname, response.headers.get('content-disposition'));
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'cargohold-add-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, name || UNNAMED);
    const size = await download(response, file, url, options);
    const lastModified = Date.parse(response.headers.get('last-modified') ?? '');
    const mtimeMs = Number.isNaN(lastModified) ? 0 : lastModified;
    const handle = await open(file, 'r+');
    try {
      await handle.utimes(new Date(mtimeMs), new Date(mtimeMs));
    } finally {
      await handle.close();
    }
    const source: ResolvedSource = {
      source: url,
      path: url,
      name,
      kind: 'file',
      hostPath: file,
      remote: true,
      entries: [{ path: '', type: 'file', hostPath: file, mode: DOWNLOAD_MODE, size, mtimeMs }],
    };
    return { source, file, checksum: await sourcesChecksum([source]), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw fail(`invalid URL ${url}`, err);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw fail(`${url}: only http and https URLs can be downloaded`);
  }
  return parsed;
}

async function get(url: string, signal: AbortSignal | undefined): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    const cause = (err as Error).cause;
    const reason = cause instanceof Error ? cause.message : (err as Error).message;
    throw fail(`Get "${url}": ${reason}`, err);
  }
  return response;
}

/** Streams the body into a new file (mode 0600), stopping as soon as it passes the limit. */
async function download(response: Response, file: string, url: string, options: UrlSourceOptions): Promise<number> {
  const handle = await open(file, 'wx', DOWNLOAD_MODE);
  let size = 0;
  try {
    if (response.body) {
      for await (const chunk of response.body) {
        size += chunk.length;
        if (size > options.maxBytes) {
          throw fail(`${url} is larger than the limit of ${options.maxBytes} bytes`);
        }
        let written = 0;
        while (written < chunk.length) written += (await handle.write(chunk, written)).bytesWritten;
      }
    }
    await handle.chmod(DOWNLOAD_MODE);
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (err instanceof CopyError) throw err;
    throw fail(`reading ${url}: ${(err as Error).message}`, err);
  } finally {
    await handle.close();
  }
  return size;
}

async function readSome(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= limit) break;
    }
  } catch {
    return '';
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/**
 * moby's getFilenameForDownload: the URL path's last element unless the path ends in `/`, else a
 * Content-Disposition `filename`; `` when neither names a file.
 */
export function fileNameFor(pathname: string, contentDisposition: string | null): string {
  if (pathname !== '' && !pathname.endsWith('/')) {
    const base = usable(posix.basename(decode(pathname)));
    if (base) return base;
  }
  const fromHeader = dispositionFileName(contentDisposition);
  if (fromHeader && !fromHeader.endsWith('/')) return usable(posix.basename(fromHeader));
  return '';
}

function usable(name: string): string {
  return name === '.' || name === '..' || name === '/' ? '' : name;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** `filename*=UTF-8''na%20me` (RFC 5987) or `filename="name"` / `filename=name`. */
function dispositionFileName(header: string | null): string {
  if (!header) return '';
  const extended = /(?:^|;)\s*filename\*\s*=\s*([^']*)'[^']*'([^;]*)/i.exec(header);
  if (extended) return decode(extended[2].trim());
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/i.exec(header);
  if (!plain) return '';
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : (plain[2] ?? '');
}
