import net from 'node:net';
import { Readable } from 'node:stream';
import { sha256Of } from '@cargohold/oci';
import type { PushedTestImage, TamperingProxy, TestRegistry } from '@cargohold/testing';
import { busyboxImage, multiLayerImage, pushTestImage, startRegistry, startTamperingProxy } from '@cargohold/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './registry-client';
import { RegistryError, RegistryNotFoundError } from './registry-errors';

/** A loopback port nothing listens on (one the OS just handed out and took back). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('docker.io through mirrors and the configured hub endpoint', () => {
  let hub: TestRegistry;
  let mirror: TestRegistry;
  let mirrorProxy: TamperingProxy;
  let onlyOnHub: PushedTestImage;
  let onMirror: PushedTestImage;
  let client: RegistryClient;

  beforeAll(async () => {
    [hub, mirror] = await Promise.all([startRegistry(), startRegistry()]);
    onlyOnHub = await pushTestImage(hub, 'library/multi', 'latest', multiLayerImage('hub', 2));
    onMirror = await pushTestImage(mirror, 'library/busybox', 'latest', busyboxImage('mirror'));
    mirrorProxy = await startTamperingProxy(mirror.url);
    client = new RegistryClient({ mirrors: [mirrorProxy.url], dockerHubEndpoint: hub.url, retries: 1 });
  });
  afterAll(async () => {
    await mirrorProxy?.stop();
    await Promise.all([hub?.stop(), mirror?.stop()]);
  });

  it('refuses docker.io when neither a hub endpoint nor a mirror is configured', () => {
    expect(() => new RegistryClient().session('docker.io')).toThrow(/CARGOHOLD_DOCKER_HUB_URL/);
  });

  it('reads from the mirror first', async () => {
    const session = client.session('docker.io');
    expect((await session.getManifest('library/busybox', 'latest')).digest).toBe(onMirror.manifestDigest);
    expect(session.baseUrl).toBe(mirrorProxy.url);
  });

  it('falls through to the hub endpoint when the mirror lacks the image', async () => {
    const session = client.session('docker.io');
    const manifest = await session.getManifest('library/multi', 'latest');
    expect(manifest.digest).toBe(onlyOnHub.manifestDigest);
    expect(session.baseUrl).toBe(hub.url);
    expect(mirrorProxy.requests.some((r) => r.path === '/v2/library/multi/manifests/latest')).toBe(true);
    // Later reads stay on the endpoint that answered.
    expect(await session.hasBlob('library/multi', onlyOnHub.configDigest)).toEqual({ size: onlyOnHub.configSize });
  });

  it('reports the hub’s answer when nobody has the image', async () => {
    await expect(client.session('docker.io').getManifest('library/nothing', 'latest')).rejects.toBeInstanceOf(RegistryNotFoundError);
  });

  it('pushes to the hub endpoint only, never to a mirror', async () => {
    const before = mirrorProxy.requests.length;
    const data = Buffer.from('pushed to the hub');
    await client.session('docker.io').uploadBlob('library/pushed', sha256Of(data), data.length, () => Readable.from([data]));
    expect(await new RegistryClient().session(hub.host).hasBlob('library/pushed', sha256Of(data))).toEqual({ size: data.length });
    expect(mirrorProxy.requests.slice(before).filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
    const mirrorsOnly = new RegistryClient({ mirrors: [mirrorProxy.url] }).session('docker.io');
    await expect(mirrorsOnly.uploadBlob('library/pushed', sha256Of(data), data.length, () => Readable.from([data]))).rejects.toThrow(RegistryError);
    await expect(mirrorsOnly.uploadBlob('library/pushed', sha256Of(data), data.length, () => Readable.from([data]))).rejects.toThrow(/mirrors are read-only/);
  });

  it('skips a mirror that cannot be reached', async () => {
    const session = new RegistryClient({ mirrors: [`http://127.0.0.1:${await closedPort()}`], dockerHubEndpoint: hub.url, retries: 1 }).session('docker.io');
    expect((await session.getManifest('library/multi', 'latest')).digest).toBe(onlyOnHub.manifestDigest);
  });
});
