import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dockerCli,
  type FixtureImage,
  pushTestImage,
  startRegistry,
  startSystem,
  type SystemHandle,
  type TestRegistry,
} from '@cargohold/testing';

const exec = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await exec('skopeo', ['--insecure-policy', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

const sha256 = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Two layers of well-compressible files, so compressed and unpacked sizes differ widely. */
function compressibleImage(name: string): { image: FixtureImage; contentSizes: number[] } {
  const first = [`${name} first layer `.repeat(2000), `${name} config `.repeat(300)];
  const second = [Buffer.alloc(300 * 1024, name.length)];
  return {
    image: {
      repoTags: [`${name}:1`],
      layers: [
        { files: [{ path: `${name}/a.txt`, content: first[0] }, { path: `etc/${name}.conf`, content: first[1] }] },
        { files: [{ path: `${name}/b.bin`, content: second[0] }] },
      ],
    },
    // An image's Size counts the files in its layers (ADR 0002).
    contentSizes: [first.reduce((sum, c) => sum + Buffer.byteLength(c), 0), second[0].length],
  };
}

/** Reads a JSON blob of an OCI layout. */
function readBlob<T>(layout: string, digest: string): T {
  return JSON.parse(readFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as T;
}

/** Writes bytes as a blob of an OCI layout; returns its descriptor fields. */
function writeBlob(layout: string, bytes: Buffer): { digest: string; size: number } {
  const digest = sha256(bytes);
  writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/**
 * Images pushed to cargohold's /v2/ are verified in the background (verify.v1, ADR 0010): their
 * sizes become the unpacked sizes, and a config lying about a layer's diff ID poisons nothing.
 */
describe('verifying images pushed through the registry API', () => {
  let system: SystemHandle;
  let registry: TestRegistry;
  let host: string;
  let dir: string;
  let docker: ReturnType<typeof dockerCli>;

  const sizeOf = async (ref: string): Promise<number> => Number((await docker.run(['image', 'inspect', ref, '--format', '{{.Size}}'])).stdout.trim());

  /** Polls the image's Size until it is `expected` (the verify job runs on the puller after the PUT). */
  async function eventualSize(ref: string, expected: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let size = await sizeOf(ref);
    while (size !== expected && Date.now() < deadline) {
      await sleep(100);
      size = await sizeOf(ref);
    }
    return size;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-registry-verify-'));
    [system, registry] = await Promise.all([startSystem(), startRegistry()]);
    host = new URL(system.url).host;
    docker = dockerCli(system.dockerHost);
  }, 120_000);

  afterAll(async () => {
    await docker?.dispose();
    await Promise.all([system?.stop(), registry?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a pushed image\'s Size becomes its unpacked size, as a load would record it', async () => {
    const { image, contentSizes } = compressibleImage('verified');
    // skopeo gzips the layers on the way in, as docker push does.
    const pushed = await pushTestImage(host, 'verify/app', '1', image);
    const compressed = pushed.layers.reduce((sum, l) => sum + l.size, 0);
    const unpacked = contentSizes.reduce((a, b) => a + b, 0);
    expect(compressed).toBeLessThan(unpacked / 4);

    expect(await eventualSize('verify/app:1', unpacked)).toBe(unpacked);
    const inspected = JSON.parse((await docker.run(['image', 'inspect', 'verify/app:1', '--format', '{{json .}}'])).stdout) as { Id: string; RootFS: { Layers: string[] } };
    expect(inspected.Id).toBe(pushed.configDigest);
    expect(inspected.RootFS.Layers).toEqual(pushed.diffIds);
  });

  it('a push whose config lies about a layer\'s diff ID does not break pulling an honest image sharing that layer', async () => {
    const { image, contentSizes } = compressibleImage('honest');
    const honest = await pushTestImage(registry, 'honest', '1', image, { format: 'oci' });

    // The liar: the honest layer blobs, byte for byte, under a config claiming another diff ID for the first.
    const layout = path.join(dir, 'liar');
    await skopeo('copy', '--preserve-digests', '--src-tls-verify=false', `docker://${registry.host}/honest:1`, `oci:${layout}:liar`);
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
    const manifest = readBlob<{ config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> }>(layout, index.manifests[0].digest);
    expect(manifest.layers.map((l) => l.digest)).toEqual(honest.layers.map((l) => l.digest));
    const config = readBlob<{ rootfs: { diff_ids: string[] } }>(layout, manifest.config.digest);
    const lie = sha256('not what the first layer holds');
    config.rootfs.diff_ids[0] = lie;
    manifest.config = { ...manifest.config, ...writeBlob(layout, Buffer.from(JSON.stringify(config))) };
    index.manifests[0] = { ...index.manifests[0], ...writeBlob(layout, Buffer.from(JSON.stringify(manifest))) };
    writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
    await skopeo('copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:liar`, `docker://${host}/liar:1`);

    // Its verification ran: the honest second layer got its true size, the lying first kept the compressed one.
    const liarSize = honest.layers[0].size + contentSizes[1];
    expect(await eventualSize('liar:1', liarSize)).toBe(liarSize);
    const liarLayers = JSON.parse((await docker.run(['image', 'inspect', 'liar:1', '--format', '{{json .RootFS.Layers}}'])).stdout) as string[];
    expect(liarLayers).toEqual([lie, honest.diffIds[1]]);

    // cargohold has the first layer's blob only with the lie attached: the pull reads the blob instead.
    const pulled = await docker.run(['pull', `${registry.host}/honest:1`]);
    expect(pulled.stdout).toContain(`Status: Downloaded newer image for ${registry.host}/honest:1`);
    const inspected = JSON.parse((await docker.run(['image', 'inspect', `${registry.host}/honest:1`, '--format', '{{json .}}'])).stdout) as {
      Id: string;
      Size: number;
      RootFS: { Layers: string[] };
    };
    expect(inspected.Id).toBe(honest.configDigest);
    expect(inspected.RootFS.Layers).toEqual(honest.diffIds);
    expect(inspected.Size).toBe(contentSizes[0] + contentSizes[1]);
    // The liar is still what it was: kept, never trusted.
    expect(await sizeOf('liar:1')).toBe(liarSize);
  });
});
