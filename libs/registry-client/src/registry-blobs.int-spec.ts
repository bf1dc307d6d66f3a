import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { PushedTestImage, TamperingProxy, TestRegistry } from '@cargohold/testing';
import { busyboxImage, pushTestImage, startRegistry, startTamperingProxy } from '@cargohold/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './registry-client';
import { RegistryError } from './registry-errors';
import { verifyingStream } from './verifying-stream';

const execFileAsync = promisify(execFile);
const client = new RegistryClient({ retries: 2 });
const alice = { username: 'alice', password: 'wonderland' };

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The blob straight from the registry, bypassing the client under test. */
async function rawBlob(registry: TestRegistry, repo: string, digest: string): Promise<Buffer> {
  const headers: Record<string, string> = registry.auth === 'htpasswd' ? { authorization: `Basic ${Buffer.from('alice:wonderland').toString('base64')}` } : {};
  const response = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`, { headers });
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** Splits into uneven pieces, as a file or network stream would deliver them. */
function pieces(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0, size = 1000; i < data.length; i += size, size = (size * 7) % 65_536 || 1) out.push(data.subarray(i, i + size));
  return out;
}

describe('blobs against docker-registry', () => {
  let registry: TestRegistry;
  let image: PushedTestImage;
  let proxies: TamperingProxy[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    // Uncompressed (≈2 MB) so that a cut after 300 kB leaves most of the layer to resume.
    image = await pushTestImage(registry, 'b/busybox', 'v1', busyboxImage('b'), { compress: false });
  });
  afterEach(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    proxies = [];
  });
  afterAll(() => registry?.stop());

  const proxy = async (target: string, options: Parameters<typeof startTamperingProxy>[1] = {}): Promise<TamperingProxy> => {
    const started = await startTamperingProxy(target, options);
    proxies.push(started);
    return started;
  };

  it('HEADs and GETs a blob', async () => {
    const session = client.session(registry.host);
    const layer = image.layers[0];
    expect(await session.hasBlob('b/busybox', layer.digest)).toEqual({ size: layer.size });
    expect(await session.hasBlob('b/busybox', `sha256:${'f'.repeat(64)}`)).toBeNull();
    const progress: number[] = [];
    const bytes = await collect(session.openBlob('b/busybox', layer.digest, layer.size, { onProgress: (n) => progress.push(n) }));
    expect(bytes.length).toBe(layer.size);
    expect(sha256(bytes)).toBe(layer.digest);
    expect(progress.at(-1)).toBe(layer.size);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('reads from an offset', async () => {
    const layer = image.layers[0];
    const whole = await rawBlob(registry, 'b/busybox', layer.digest);
    const tail = await collect(client.session(registry.host).openBlob('b/busybox', layer.digest, layer.size, { offset: 1000 }));
    expect(tail.equals(whole.subarray(1000))).toBe(true);
  });

  it('stops when the caller aborts', async () => {
    const layer = image.layers[0];
    const controller = new AbortController();
    const stream = client.session(registry.host).openBlob('b/busybox', layer.digest, layer.size, {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('caller gave up')),
    });
    await expect(collect(stream)).rejects.toThrow('caller gave up');
  });

  it('fails a missing blob with the registry’s error', async () => {
    const stream = client.session(registry.host).openBlob('b/busybox', `sha256:${'f'.repeat(64)}`, 10);
    await expect(collect(stream)).rejects.toThrow('blob unknown: blob unknown to registry');
  });

  it('resumes a dropped connection with Range and yields the exact blob', async () => {
    const layer = image.layers[0];
    const cutting = await proxy(registry.url, { failAfterBytes: 300_000 });
    const bytes = await collect(client.session(cutting.host).openBlob('b/busybox', layer.digest, layer.size));
    expect(bytes.length).toBe(layer.size);
    expect(bytes.equals(await rawBlob(registry, 'b/busybox', layer.digest))).toBe(true);
    const gets = cutting.requests.filter((r) => r.method === 'GET' && r.path.endsWith(layer.digest));
    expect(gets.map((r) => r.headers.range)).toEqual([undefined, 'bytes=300000-']);
  });

  it('gives up when the connection keeps breaking without progress', async () => {
    const layer = image.layers[0];
    const cutting = await proxy(registry.url, { failAfterBytes: 0, failEveryTime: true });
    const stream = new RegistryClient({ retries: 2 }).session(cutting.host).openBlob('b/busybox', layer.digest, layer.size);
    await expect(collect(stream)).rejects.toThrow(new RegExp(`^download of ${layer.digest} failed at byte 0 of ${layer.size} after 3 attempts without progress`));
    expect(cutting.requests.filter((r) => r.method === 'GET' && r.path.endsWith(layer.digest))).toHaveLength(3);
  });

  it('reports a registry that cannot be reached', async () => {
    const dead = await proxy('http://127.0.0.1:9');
    const failure = new RegistryClient({ retries: 1 }).session(dead.host).hasBlob('b/busybox', image.layers[0].digest);
    await expect(failure).rejects.toThrow(`GET ${dead.url}/v2/: received unexpected HTTP status: 502 Bad Gateway`);
  });

  it('exposes corrupted content, which verifyingStream refuses', async () => {
    const layer = image.layers[0];
    const corrupting = await proxy(registry.url, { corruptBlobs: true });
    const session = client.session(corrupting.host);
    const bytes = await collect(session.openBlob('b/busybox', layer.digest, layer.size));
    expect(bytes.length).toBe(layer.size);
    expect(bytes.equals(await rawBlob(registry, 'b/busybox', layer.digest))).toBe(false);

    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const verified = pipeline(session.openBlob('b/busybox', layer.digest, layer.size), verifyingStream(layer.digest, layer.size), sink);
    await expect(verified).rejects.toBeInstanceOf(RegistryError);
    await expect(verified).rejects.toThrow(/^digest mismatch/);
  });

  it('uploads monolithically (POST + one PUT) and reads it back', async () => {
    const data = randomBytes(300_000);
    const digest = sha256(data);
    const recorder = await proxy(registry.url);
    const session = client.session(recorder.host);
    const progress: number[] = [];
    await session.uploadBlob('b/uploads', digest, data.length, () => Readable.from(pieces(data)), { onProgress: (n) => progress.push(n) });
    expect(progress.at(-1)).toBe(data.length);
    expect(recorder.requests.filter((r) => r.path.includes('/blobs/uploads/')).map((r) => r.method)).toEqual(['POST', 'PUT']);
    expect(await session.hasBlob('b/uploads', digest)).toEqual({ size: data.length });
    expect((await collect(session.openBlob('b/uploads', digest, data.length))).equals(data)).toBe(true);
  });

  it('uploads in PATCH chunks with Content-Range, then the closing PUT', async () => {
    const data = randomBytes(700_000);
    const digest = sha256(data);
    const recorder = await proxy(registry.url);
    const session = client.session(recorder.host);
    await session.uploadBlob('b/uploads', digest, data.length, () => Readable.from(pieces(data)), { chunkSize: 256 * 1024 });
    const uploads = recorder.requests.filter((r) => r.path.includes('/blobs/uploads/'));
    expect(uploads.map((r) => r.method)).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH', 'PUT']);
    expect(uploads.filter((r) => r.method === 'PATCH').map((r) => [r.headers['content-range'], r.headers['content-length']])).toEqual([
      ['0-262143', '262144'],
      ['262144-524287', '262144'],
      ['524288-699999', '175712'],
    ]);
    expect(uploads.at(-1)?.path).toContain(`digest=${encodeURIComponent(digest)}`);
    expect((await collect(client.session(registry.host).openBlob('b/uploads', digest, data.length))).equals(data)).toBe(true);
  });

  it('uploads an empty blob', async () => {
    const digest = sha256(Buffer.alloc(0));
    const session = client.session(registry.host);
    await session.uploadBlob('b/uploads', digest, 0, () => Readable.from([]));
    expect(await session.hasBlob('b/uploads', digest)).toEqual({ size: 0 });
    expect((await collect(session.openBlob('b/uploads', digest, 0))).length).toBe(0);
  });

  it('refuses a source shorter or longer than declared, and a wrong digest', async () => {
    const data = randomBytes(1000);
    const session = client.session(registry.host);
    await expect(session.uploadBlob('b/uploads', sha256(data), 2000, () => Readable.from([data]))).rejects.toThrow(/ended after 1000 of the 2000 bytes/);
    await expect(session.uploadBlob('b/uploads', sha256(data), 500, () => Readable.from([data]))).rejects.toThrow(/more than the 500 bytes/);
    await expect(session.uploadBlob('b/uploads', sha256(Buffer.from('other')), data.length, () => Readable.from([data]))).rejects.toThrow(/digest invalid/);
  });

  it('mounts a blob from another repository (201), and answers false when it cannot', async () => {
    const session = client.session(registry.host);
    const layer = image.layers[0];
    expect(await session.mountBlob('b/mounted', layer.digest, 'b/busybox')).toBe(true);
    expect(await session.hasBlob('b/mounted', layer.digest)).toEqual({ size: layer.size });
    expect(await session.mountBlob('b/mounted', `sha256:${'9'.repeat(64)}`, 'b/busybox')).toBe(false);
  });

  it('pushes a whole image by upload and putManifest, which skopeo then reads', async () => {
    const session = client.session(registry.host);
    const manifest = await session.getManifest('b/busybox', 'v1');
    for (const blob of [{ digest: image.configDigest, size: image.configSize }, ...image.layers]) {
      expect(await session.hasBlob('b/pushed', blob.digest)).toBeNull();
      await session.uploadBlob('b/pushed', blob.digest, blob.size, () => session.openBlob('b/busybox', blob.digest, blob.size), { chunkSize: 512 * 1024 });
    }
    expect(await session.putManifest('b/pushed', 'v1', manifest.bytes, manifest.mediaType)).toEqual({ digest: image.manifestDigest });
    const { stdout } = await execFileAsync('skopeo', ['inspect', '--tls-verify=false', '--no-creds', `docker://${registry.host}/b/pushed:v1`]);
    const inspected = JSON.parse(stdout) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(image.manifestDigest);
    expect(inspected.Layers).toEqual(image.layers.map((l) => l.digest));
  });
});

describe('blob redirects', () => {
  let registry: TestRegistry;
  let image: PushedTestImage;
  let storage: TamperingProxy;
  let front: TamperingProxy;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
    image = await pushTestImage(registry, 'r/busybox', 'v1', busyboxImage('r'));
    // `storage` stands in for S3: it serves blobs without the registry's credentials (its own are injected upstream).
    storage = await startTamperingProxy(registry.url, { upstreamAuthorization: `Basic ${Buffer.from('alice:wonderland').toString('base64')}` });
    front = await startTamperingProxy(registry.url, { redirectBlobsTo: storage.url });
  });
  afterAll(async () => {
    await front?.stop();
    await storage?.stop();
    await registry?.stop();
  });

  it('follows a redirect to another origin without sending the registry’s Authorization there', async () => {
    const layer = image.layers[0];
    const session = client.session(front.host, alice);
    const bytes = await collect(session.openBlob('r/busybox', layer.digest, layer.size));
    expect(sha256(bytes)).toBe(layer.digest);

    const asked = front.requests.filter((r) => r.method === 'GET' && r.path.endsWith(layer.digest));
    expect(asked).toHaveLength(1);
    expect(asked[0].headers.authorization).toMatch(/^Basic /);
    const served = storage.requests.filter((r) => r.method === 'GET' && r.path.endsWith(layer.digest));
    expect(served).toHaveLength(1);
    expect(served[0].headers.authorization).toBeUndefined();
  });
});
