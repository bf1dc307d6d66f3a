import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sourcesChecksum } from './checksum';
import { copyInto } from './copy-into';
import { buildTar, useTempDirs } from './testing/fixtures';
import { urlSource } from './url-source';

const tempDir = useTempDirs();

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base: string;
const routes = new Map<string, Handler>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const handler = routes.get(req.url ?? '');
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing here\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => routes.clear());

describe('urlSource', () => {
  it('downloads into a temp file named after the URL, mode 0600, Last-Modified as mtime', async () => {
    const tmp = await tempDir();
    routes.set('/files/app.conf', (_req, res) =>
      res.writeHead(200, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end('setting=1\n'),
    );
    const fetched = await urlSource(`${base}/files/app.conf`, { maxBytes: 1024, tmpDir: tmp });
    expect(await readFile(fetched.file, 'utf8')).toBe('setting=1\n');
    expect(fetched.source).toMatchObject({ kind: 'file', name: 'app.conf', remote: true, path: `${base}/files/app.conf` });
    const stats = await stat(fetched.file);
    expect(stats.mode & 0o7777).toBe(0o600);
    expect(stats.mtime.toISOString()).toBe('2015-10-21T07:28:00.000Z');
    expect(fetched.checksum).toBe(await sourcesChecksum([fetched.source]));
    await fetched.dispose();
    expect(await readdir(tmp)).toEqual([]);
  });

  it('gives the same checksum for the same bytes, a different one for different bytes', async () => {
    let body = 'one';
    routes.set('/v', (_req, res) => res.end(body));
    const first = await urlSource(`${base}/v`, { maxBytes: 100 });
    const again = await urlSource(`${base}/v`, { maxBytes: 100 });
    body = 'two';
    const changed = await urlSource(`${base}/v`, { maxBytes: 100 });
    expect(again.checksum).toBe(first.checksum);
    expect(changed.checksum).not.toBe(first.checksum);
    await Promise.all([first, again, changed].map((fetched) => fetched.dispose()));
  });

  it('takes the name from Content-Disposition when the path names none, else none at all', async () => {
    routes.set('/dl/', (_req, res) => res.writeHead(200, { 'content-disposition': 'attachment; filename="data.csv"' }).end('a,b'));
    routes.set('/', (_req, res) => res.end('anonymous'));
    const named = await urlSource(`${base}/dl/`, { maxBytes: 100 });
    const unnamed = await urlSource(`${base}/`, { maxBytes: 100 });
    expect(named.source.name).toBe('data.csv');
    expect(unnamed.source.name).toBe('');
    expect(unnamed.file.endsWith('/__unnamed__')).toBe(true);

    const rootfs = await tempDir();
    await expect(copyInto([unnamed.source], rootfs, '/data/', { workdir: '/', isAdd: true })).rejects.toThrow(
      `ADD failed: cannot determine filename for source ${base}/`,
    );
    await copyInto([unnamed.source], rootfs, '/data/file', { workdir: '/', isAdd: true });
    expect(await readFile(join(rootfs, 'data/file'), 'utf8')).toBe('anonymous');
    await Promise.all([named.dispose(), unnamed.dispose()]);
  });

  it('refuses a body whose Content-Length passes the limit, before reading it', async () => {
    const tmp = await tempDir();
    routes.set('/big', (_req, res) => res.writeHead(200, { 'content-length': String(10_000) }).end(Buffer.alloc(10_000)));
    await expect(urlSource(`${base}/big`, { maxBytes: 1000, tmpDir: tmp })).rejects.toThrow(
      `ADD failed: ${base}/big is larger than the limit of 1000 bytes (10000 bytes)`,
    );
    expect(await readdir(tmp)).toEqual([]);
  });

  it('stops a chunked body once it passes the limit and keeps nothing', async () => {
    const tmp = await tempDir();
    let written = 0;
    routes.set('/endless', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        written += 4096;
        res.write(Buffer.alloc(4096, 1));
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    await expect(urlSource(`${base}/endless`, { maxBytes: 64 * 1024, tmpDir: tmp })).rejects.toThrow(
      `ADD failed: ${base}/endless is larger than the limit of 65536 bytes`,
    );
    expect(await readdir(tmp)).toEqual([]);
    expect(written).toBeGreaterThan(64 * 1024);
  });

  it('fails on an error status with the legacy text', async () => {
    await expect(urlSource(`${base}/missing.tgz`, { maxBytes: 100 })).rejects.toThrow(
      `ADD failed: failed to GET ${base}/missing.tgz with status 404 Not Found: no such thing here`,
    );
  });

  it('follows redirects', async () => {
    routes.set('/old', (_req, res) => res.writeHead(302, { location: '/new/file.txt' }).end());
    routes.set('/new/file.txt', (_req, res) => res.end('moved'));
    const fetched = await urlSource(`${base}/old`, { maxBytes: 100 });
    expect(await readFile(fetched.file, 'utf8')).toBe('moved');
    // moby names the file after the URL it was asked for.
    expect(fetched.source.name).toBe('old');
    await fetched.dispose();
  });

  it('accepts only http and https', async () => {
    await expect(urlSource('file:///etc/passwd', { maxBytes: 100 })).rejects.toThrow(
      'ADD failed: file:///etc/passwd: only http and https URLs can be downloaded',
    );
    await expect(urlSource('ftp://127.0.0.1/x', { maxBytes: 100 })).rejects.toThrow(/only http and https/);
    await expect(urlSource('not a url', { maxBytes: 100 })).rejects.toThrow('ADD failed: invalid URL not a url');
  });

  it('reports a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(urlSource(`http://127.0.0.1:${port}/x`, { maxBytes: 100 })).rejects.toThrow(
      new RegExp(`ADD failed: Get "http://127.0.0.1:${port}/x": .*ECONNREFUSED`),
    );
  });

  it('is cancelled by its signal, keeping nothing', async () => {
    const tmp = await tempDir();
    routes.set('/slow', (_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const controller = new AbortController();
    const attempt = urlSource(`${base}/slow`, { maxBytes: 1000, signal: controller.signal, tmpDir: tmp });
    setTimeout(() => controller.abort(new Error('build cancelled')), 50);
    await expect(attempt).rejects.toThrow('build cancelled');
    expect(await readdir(tmp)).toEqual([]);
  });

  it('is never extracted by ADD, even when it is a tar', async () => {
    const archive = await buildTar([{ name: 'inside.txt', content: 'x' }]);
    routes.set('/pkg.tar', (_req, res) => res.end(archive));
    const fetched = await urlSource(`${base}/pkg.tar`, { maxBytes: 1 << 20 });
    const rootfs = await tempDir();
    await copyInto([fetched.source], rootfs, '/opt/', { workdir: '/', isAdd: true });
    expect(await readFile(join(rootfs, 'opt/pkg.tar'))).toEqual(archive);
    expect((await stat(join(rootfs, 'opt/pkg.tar'))).mode & 0o7777).toBe(0o600);
    await fetched.dispose();
  });
});
