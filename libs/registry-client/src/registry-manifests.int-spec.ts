import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ImageIndex, ImageManifest } from '@cargohold/oci';
import { MediaType, parseManifest, sha256Of } from '@cargohold/oci';
import type { PushedTestImage, PushedTestIndex, TamperingProxy, TestRegistry } from '@cargohold/testing';
import { busyboxImage, multiLayerImage, pushTestImage, pushTestIndex, startRegistry, startTamperingProxy } from '@cargohold/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectPlatformManifest } from './platform-select.util';
import { RegistryClient } from './registry-client';
import { RegistryError, RegistryNotFoundError } from './registry-errors';

const client = new RegistryClient({ retries: 1 });

describe('manifests against docker-registry', () => {
  let registry: TestRegistry;
  let docker: PushedTestImage;
  let oci: PushedTestImage;
  let index: PushedTestIndex;

  beforeAll(async () => {
    registry = await startRegistry();
    docker = await pushTestImage(registry, 'm/busybox', 'v1', busyboxImage('m'));
    oci = await pushTestImage(registry, 'm/multi', 'v1', multiLayerImage('m', 3), { format: 'oci' });
    index = await pushTestIndex(registry, 'm/platforms', 'v1');
  });
  afterAll(() => registry?.stop());

  it('gets a Docker schema2 manifest by tag and by digest', async () => {
    const session = client.session(registry.host);
    const byTag = await session.getManifest('m/busybox', 'v1');
    expect(byTag.mediaType).toBe(MediaType.DockerManifest);
    expect(byTag.digest).toBe(docker.manifestDigest);
    expect(sha256Of(byTag.bytes)).toBe(docker.manifestDigest);
    const parsed = parseManifest(byTag.bytes, byTag.mediaType) as ImageManifest;
    expect(parsed.config.digest).toBe(docker.configDigest);
    expect(parsed.layers.map((l) => l.digest)).toEqual(docker.layers.map((l) => l.digest));

    const byDigest = await session.getManifest('m/busybox', docker.manifestDigest);
    expect(byDigest.bytes.equals(byTag.bytes)).toBe(true);
  });

  it('gets an OCI manifest and HEADs it', async () => {
    const session = client.session(registry.host);
    const manifest = await session.getManifest('m/multi', 'v1');
    expect(manifest.mediaType).toBe(MediaType.OciManifest);
    expect(manifest.digest).toBe(oci.manifestDigest);
    expect(await session.headManifest('m/multi', 'v1')).toEqual({ digest: oci.manifestDigest, mediaType: MediaType.OciManifest, size: oci.manifestSize });
    expect(await session.headManifest('m/multi', 'nope')).toBeNull();
  });

  it('reads an OCI index and picks each platform', async () => {
    const session = client.session(registry.host);
    const got = await session.getManifest('m/platforms', 'v1');
    expect(got.mediaType).toBe(MediaType.OciIndex);
    expect(got.digest).toBe(index.indexDigest);
    const parsed = parseManifest(got.bytes, got.mediaType) as ImageIndex;
    const [amd64, arm64] = index.manifests;

    expect(selectPlatformManifest(parsed, { os: 'linux', architecture: 'amd64' })?.digest).toBe(amd64.manifestDigest);
    const armPick = selectPlatformManifest(parsed, { os: 'linux', architecture: 'arm64' });
    expect(armPick?.digest).toBe(arm64.manifestDigest);
    expect(selectPlatformManifest(parsed, { os: 'linux', architecture: 's390x' })).toBeNull();

    const platformManifest = await session.getManifest('m/platforms', armPick?.digest ?? '');
    const config = (parseManifest(platformManifest.bytes, platformManifest.mediaType) as ImageManifest).config;
    expect(config.digest).toBe(arm64.configDigest);
  });

  it('reports a missing tag and a missing repository with dockerd’s text', async () => {
    const session = client.session(registry.host);
    const missingTag = session.getManifest('m/busybox', 'nope');
    await expect(missingTag).rejects.toBeInstanceOf(RegistryNotFoundError);
    await expect(missingTag).rejects.toThrow('manifest unknown: manifest unknown');
    await expect(session.listTags('m/never-pushed')).rejects.toThrow('name unknown: repository name not known to registry');
  });

  it('puts a manifest under a new tag and in a new repository (after mounting its blobs)', async () => {
    const session = client.session(registry.host);
    const source = await session.getManifest('m/busybox', 'v1');
    expect(await session.putManifest('m/busybox', 'copy', source.bytes, source.mediaType)).toEqual({ digest: docker.manifestDigest });
    expect((await session.getManifest('m/busybox', 'copy')).digest).toBe(docker.manifestDigest);

    for (const digest of [docker.configDigest, ...docker.layers.map((l) => l.digest)]) {
      expect(await session.mountBlob('m/new-repo', digest, 'm/busybox')).toBe(true);
    }
    await session.putManifest('m/new-repo', 'latest', source.bytes, source.mediaType);
    expect(await session.headManifest('m/new-repo', 'latest')).toMatchObject({ digest: docker.manifestDigest });
  });

  it('refuses to put a manifest under a digest it does not have', async () => {
    const session = client.session(registry.host);
    const source = await session.getManifest('m/busybox', 'v1');
    await expect(session.putManifest('m/busybox', `sha256:${'a'.repeat(64)}`, source.bytes, source.mediaType)).rejects.toThrow(/^digest mismatch/);
  });

  describe('tag listing', () => {
    let proxy: TamperingProxy;
    const tags = ['a', 'b', 'c', 'd', 'e'];
    beforeAll(async () => {
      const session = client.session(registry.host);
      const source = await session.getManifest('m/busybox', 'v1');
      for (const digest of [docker.configDigest, ...docker.layers.map((l) => l.digest)]) await session.mountBlob('m/tagged', digest, 'm/busybox');
      for (const tag of tags) await session.putManifest('m/tagged', tag, source.bytes, source.mediaType);
      proxy = await startTamperingProxy(registry.url, { paginateTags: 2 });
    });
    afterAll(() => proxy?.stop());

    it('lists every tag in one page from docker-registry', async () => {
      expect((await client.session(registry.host).listTags('m/tagged')).sort()).toEqual(tags);
    });

    it('follows Link pagination with n=2', async () => {
      const listed = await client.session(proxy.host).listTags('m/tagged', { pageSize: 2 });
      expect(listed).toEqual(tags);
      const pages = proxy.requests.filter((r) => r.path.includes('/tags/list')).map((r) => r.path);
      expect(pages).toEqual(['/v2/m/tagged/tags/list?n=2', '/v2/m/tagged/tags/list?n=2&last=b', '/v2/m/tagged/tags/list?n=2&last=d']);
    });
  });
});

describe('manifests a registry must not be trusted with', () => {
  let server: http.Server;
  let host: string;
  const docker = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: { mediaType: MediaType.DockerConfig, digest: `sha256:${'c'.repeat(64)}`, size: 2 }, layers: [] }));
  const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'old', fsLayers: [], history: [] }));

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/v2/') return res.end('{}');
      if (req.url === '/v2/x/manifests/old') {
        res.writeHead(200, { 'content-type': MediaType.DockerSchema1SignedManifest });
        return res.end(schema1);
      }
      if (req.url === '/v2/x/manifests/lying') {
        res.writeHead(200, { 'content-type': MediaType.DockerManifest, 'docker-content-digest': `sha256:${'e'.repeat(64)}` });
        return res.end(docker);
      }
      if (req.url === `/v2/x/manifests/${sha256Of(Buffer.from('other'))}`) {
        res.writeHead(200, { 'content-type': MediaType.DockerManifest });
        return res.end(docker);
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses schema1 with a clear error', async () => {
    const failure = client.session(host).getManifest('x', 'old');
    await expect(failure).rejects.toBeInstanceOf(RegistryError);
    await expect(failure).rejects.toThrow(/^schema1 manifests are not supported: .*\(x:old\)$/s);
  });

  it('refuses content that does not match Docker-Content-Digest or the digest asked for', async () => {
    await expect(client.session(host).getManifest('x', 'lying')).rejects.toThrow(/^digest mismatch: .*Docker-Content-Digest/);
    await expect(client.session(host).getManifest('x', sha256Of(Buffer.from('other')))).rejects.toThrow(/^digest mismatch: .*was asked for/);
  });
});
