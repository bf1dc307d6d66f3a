import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, multiLayerImage, startDockerd, startSystem, writeDockerArchive, type SystemHandle } from '@cargohold/testing';

const exec = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await exec('skopeo', ['--insecure-policy', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Every blob of an OCI layout, by digest, with its bytes. */
function layoutBlobs(dir: string): Map<string, Buffer> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  return new Map(readdirSync(blobs).map((hex) => [`sha256:${hex}`, readFileSync(path.join(blobs, hex))]));
}

function layoutManifestDigest(dir: string): string {
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  return index.manifests[0].digest;
}

/** Registry clients (skopeo, a real dockerd) against cargohold's own /v2/ API, auth off. */
describe('cargohold as a registry for real clients', () => {
  let system: SystemHandle;
  let host: string;
  let dir: string;
  let docker: ReturnType<typeof dockerCli>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-registry-clients-'));
    system = await startSystem();
    host = new URL(system.url).host;
    docker = dockerCli(system.dockerHost);
  });

  afterAll(async () => {
    await docker?.dispose();
    await system?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('skopeo copies an OCI layout in and back out byte-identically, and the image is an ordinary image', async () => {
    const archive = path.join(dir, 'in.tar');
    await writeDockerArchive(archive, [multiLayerImage('clients/app:1', 3)], { format: 'oci' });
    const source = path.join(dir, 'layout-in');
    const back = path.join(dir, 'layout-out');
    await skopeo('copy', `oci-archive:${archive}`, `oci:${source}:app`);
    await skopeo('copy', '--dest-tls-verify=false', `oci:${source}:app`, `docker://${host}/clients/app:1`);
    await skopeo('copy', '--src-tls-verify=false', `docker://${host}/clients/app:1`, `oci:${back}:app`);

    expect(layoutManifestDigest(back)).toBe(layoutManifestDigest(source));
    const sent = layoutBlobs(source);
    const received = layoutBlobs(back);
    expect([...received.keys()].sort()).toEqual([...sent.keys()].sort());
    for (const [digest, bytes] of sent) expect(received.get(digest)?.equals(bytes), digest).toBe(true);

    // Pushed through the registry API, listed by the Docker API like any pulled or loaded image.
    const listed = (await docker.run(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}'])).stdout;
    expect(listed).toContain(`clients/app:1 ${layoutManifestDigest(source)}`);
  });

  it('skopeo inspect, list-tags and delete', async () => {
    const archive = path.join(dir, 'tags.tar');
    const written = await writeDockerArchive(archive, [multiLayerImage('clients/tags:a', 2)], { format: 'docker-archive-legacy' });
    for (const tag of ['a', 'b', 'c']) await skopeo('copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${host}/clients/tags:${tag}`);

    const inspected = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${host}/clients/tags:b`)) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(inspected.Layers).toHaveLength(written.images[0].diffIds.length);
    const tags = JSON.parse(await skopeo('list-tags', '--tls-verify=false', `docker://${host}/clients/tags`)) as { Tags: string[] };
    expect(tags.Tags).toEqual(['a', 'b', 'c']);

    // skopeo delete removes the manifest by digest, with every tag naming it, as distribution does.
    await skopeo('delete', '--tls-verify=false', `docker://${host}/clients/tags:c`);
    await expect(skopeo('inspect', '--tls-verify=false', `docker://${host}/clients/tags:a`)).rejects.toThrow(/manifest unknown/i);
    const after = JSON.parse(await skopeo('list-tags', '--tls-verify=false', `docker://${host}/clients/tags`)) as { Tags: string[] };
    expect(after.Tags).toEqual([]);
  });

  it('an image loaded through the Docker API is pullable through the registry API', async () => {
    const archive = path.join(dir, 'loaded.tar');
    const written = await writeDockerArchive(archive, [multiLayerImage('loaded/img:7', 2)], { format: 'oci' });
    await docker.run(['load', '-i', archive]);
    const inspected = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${host}/loaded/img:7`)) as { Digest: string };
    expect(inspected.Digest).toBe(written.images[0].manifestDigest);
    const out = path.join(dir, 'loaded-out');
    // --preserve-digests: an oci: destination would otherwise gzip the plain layers on the way.
    await skopeo('copy', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/loaded/img:7`, `oci:${out}:img`);
    expect(layoutManifestDigest(out)).toBe(written.images[0].manifestDigest);
  });

  it('a real dockerd pulls from cargohold and pushes to it', async () => {
    const dockerd = await startDockerd();
    expect(dockerd, 'dockerd must start on this machine').not.toBeNull();
    const real = dockerCli(dockerd!.host);
    try {
      const archive = path.join(dir, 'dockerd.tar');
      await writeDockerArchive(archive, [multiLayerImage('fordockerd/app:1', 2)], { format: 'docker-archive-legacy' });
      await skopeo('copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${host}/fordockerd/app:1`);

      const pulled = await real.run(['pull', `${host}/fordockerd/app:1`]);
      expect(pulled.stdout).toMatch(/Status: Downloaded newer image/);
      await real.run(['tag', `${host}/fordockerd/app:1`, `${host}/fromdockerd/app:2`]);
      const pushed = await real.run(['push', `${host}/fromdockerd/app:2`]);
      expect(pushed.stdout).toMatch(/2: digest: sha256:[0-9a-f]{64} size: \d+/);
      // dockerd mounted the layers from fordockerd/app instead of uploading them again.
      expect(pushed.stdout).toMatch(/Mounted from fordockerd\/app|Layer already exists/);

      const listed = (await docker.run(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout;
      expect(listed).toContain('fromdockerd/app:2');
    } finally {
      await real.dispose();
      await dockerd!.stop();
    }
  });
});
