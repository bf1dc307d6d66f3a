import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, multiLayerImage } from './fixtures';
import { startRegistry } from './registry';
import type { TestRegistry } from './registry-harness.types';
import { pushTestImage, pushTestIndex } from './registry-push';

/** The registry harness on its own, checked with plain fetch (no cargohold client involved). */
describe.each(['none', 'htpasswd', 'token'] as const)('startRegistry({ auth: %s }) + pushTestImage', (auth) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth });
  });
  afterAll(() => registry?.stop());

  it('serves what skopeo pushed, and enforces its auth', async () => {
    const pushed = await pushTestImage(registry, 'harness/busybox', 'v1', busyboxImage('harness'), { compress: false });
    expect(pushed.reference).toBe(`${registry.host}/harness/busybox:v1`);
    expect(pushed.manifestMediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    // Uncompressed layers are stored as written: blob digest = diff ID.
    expect(pushed.layers.map((l) => l.digest)).toEqual(pushed.diffIds);
    const anonymous = await fetch(`${registry.url}/v2/harness/busybox/manifests/v1`);
    await anonymous.body?.cancel();
    expect(anonymous.status).toBe(auth === 'none' ? 200 : 401);
    if (auth === 'token') expect(anonymous.headers.get('www-authenticate')).toContain(`realm="${registry.tokenServer?.realm}"`);
    if (auth === 'htpasswd') expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
  });
});

describe('pushTestIndex', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry?.stop());

  it('leaves the tag on an OCI index over one OCI image per platform', async () => {
    const pushed = await pushTestIndex(registry, 'harness/multi', 'v1', [
      { platform: { os: 'linux', architecture: 'amd64' }, image: busyboxImage('a') },
      { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, image: multiLayerImage('b', 2) },
    ]);
    const response = await fetch(`${registry.url}/v2/harness/multi/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
    expect(response.headers.get('docker-content-digest')).toBe(pushed.indexDigest);
    const index = (await response.json()) as { manifests: Array<{ digest: string; platform: object }> };
    expect(index.manifests).toEqual(pushed.manifests.map((m) => expect.objectContaining({ digest: m.manifestDigest, platform: m.platform })));
    expect(pushed.manifests[1].platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    const tags = (await (await fetch(`${registry.url}/v2/harness/multi/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['v1']);
  });
});
