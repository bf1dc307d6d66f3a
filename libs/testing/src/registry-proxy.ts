import http from 'node:http';
import { listenOnLoopback } from './loopback-server.util';

export interface TamperingProxyOptions {
  /** Flip the first byte of every blob GET body (length unchanged), so the digest no longer matches. */
  corruptBlobs?: boolean;
  /** Cut the connection once per blob after this many body bytes of its first GET (to test Range resume). */
  failAfterBytes?: number;
  /** With failAfterBytes: cut every GET of a blob (resumed ones too), not only the first. */
  failEveryTime?: boolean;
  /** Answer blob GETs with `307` to the same path on this origin (like a registry redirecting to S3). */
  redirectBlobsTo?: string;
  /**
   * Sent upstream as Authorization when the client sent none: lets a proxy stand in for a
   * presigned URL that works without the registry's credentials.
   */
  upstreamAuthorization?: string;
  /**
   * Serve tag lists in pages of this many tags (or the client's `n`) with `Link: <…>; rel="next"`,
   * as the distribution spec allows: docker-registry 2.8 itself never paginates tags.
   */
  paginateTags?: number;
}

export interface ProxiedRequest {
  method: string;
  /** Path and query as the client sent them. */
  path: string;
  /** Request headers as the client sent them (lower-case names). */
  headers: http.IncomingHttpHeaders;
}

export interface TamperingProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Every request received, in order. */
  requests: ProxiedRequest[];
  stop(): Promise<void>;
}

const BLOB_PATH = /^\/v2\/(.+)\/blobs\/([a-z0-9]+:[a-f0-9]+)$/;
const TAGS_PATH = /^\/v2\/(.+)\/tags\/list$/;

/**
 * An HTTP proxy in the test process in front of a registry (`target`: its base URL), that can
 * corrupt, cut or redirect blob downloads and paginate tag lists. It keeps the client's Host
 * header, so the registry's absolute Location URLs keep pointing at the proxy.
 */
export async function startTamperingProxy(target: string, options: TamperingProxyOptions = {}): Promise<TamperingProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const cut = new Set<string>();

  const forward = (req: http.IncomingMessage, onResponse: (upstreamRes: http.IncomingMessage) => void, onError: (error: Error) => void, pathOverride?: string): void => {
    const headers = { ...req.headers };
    if (options.upstreamAuthorization && !headers.authorization) headers.authorization = options.upstreamAuthorization;
    const outgoing = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: pathOverride ?? req.url, headers }, onResponse);
    outgoing.on('error', onError);
    req.pipe(outgoing);
  };

  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers } });
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const blob = req.method === 'GET' ? BLOB_PATH.exec(url.pathname) : null;
    const tags = req.method === 'GET' && options.paginateTags ? TAGS_PATH.exec(url.pathname) : null;
    const failed = (error: Error): void => {
      if (res.headersSent) res.destroy(error);
      else {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy could not reach ${target}: ${error.message}`);
      }
    };

    if (blob && options.redirectBlobsTo) {
      req.resume();
      res.writeHead(307, { location: new URL(req.url ?? '/', options.redirectBlobsTo).toString(), 'content-length': '0' });
      res.end();
      return;
    }

    if (tags) {
      forward(req, (upstreamRes) => paginate(upstreamRes, res, url, tags[1], options.paginateTags ?? 0), failed, url.pathname);
      return;
    }

    forward(
      req,
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        const isBody = blob !== null && (upstreamRes.statusCode === 200 || upstreamRes.statusCode === 206);
        const digest = blob?.[2] ?? '';
        const cutAt = isBody && options.failAfterBytes !== undefined && (options.failEveryTime || !cut.has(digest)) ? options.failAfterBytes : undefined;
        if (cutAt !== undefined) cut.add(digest);
        let sent = 0;
        let corrupted = false;
        upstreamRes.on('data', (data: Buffer) => {
          let chunk = data;
          if (isBody && options.corruptBlobs && !corrupted && chunk.length > 0) {
            chunk = Buffer.from(chunk);
            chunk[0] ^= 0xff;
            corrupted = true;
          }
          if (cutAt !== undefined && sent + chunk.length >= cutAt) {
            const part = chunk.subarray(0, cutAt - sent);
            sent = cutAt;
            upstreamRes.destroy();
            // Headers promised the whole length: closing now leaves the client with a truncated body.
            res.write(part, () => res.socket?.destroy());
            return;
          }
          sent += chunk.length;
          if (!res.write(chunk)) {
            upstreamRes.pause();
            res.once('drain', () => upstreamRes.resume());
          }
        });
        upstreamRes.on('end', () => res.end());
        upstreamRes.on('error', (error) => res.destroy(error));
      },
      failed,
    );
  });

  const port = await listenOnLoopback(server);
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** Re-serves a full tag list one page at a time (`n`, `last` as in the distribution spec). */
function paginate(upstreamRes: http.IncomingMessage, res: http.ServerResponse, url: URL, repo: string, defaultPageSize: number): void {
  const chunks: Buffer[] = [];
  upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
  upstreamRes.on('error', (error) => res.destroy(error));
  upstreamRes.on('end', () => {
    const body = Buffer.concat(chunks);
    if (upstreamRes.statusCode !== 200) {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      res.end(body);
      return;
    }
    const { name, tags } = JSON.parse(body.toString('utf8')) as { name: string; tags: string[] | null };
    const sorted = [...(tags ?? [])].sort();
    const n = Number(url.searchParams.get('n')) || defaultPageSize;
    const last = url.searchParams.get('last');
    const start = last === null ? 0 : sorted.findIndex((t) => t > last);
    const page = start < 0 ? [] : sorted.slice(start, start + n);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (start >= 0 && start + n < sorted.length) {
      headers.link = `</v2/${repo}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`;
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify({ name, tags: page }));
  });
}
