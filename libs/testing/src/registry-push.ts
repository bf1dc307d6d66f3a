import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './child-process.util';
import { busyboxImage, multiLayerImage, writeDockerArchive } from './fixtures';
import type { FixtureImage } from './fixture.types';
import type { RegistryLogin, RegistryTarget, ResolvedTarget } from './registry-request.util';
import { registryRequest, resolveTarget } from './registry-request.util';
import { scratchDir } from './scratch-dir.util';

const execFileAsync = promisify(execFile);

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST_ACCEPT = [
  OCI_INDEX,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface PushTestImageOptions {
  /**
   * `docker` (default): a docker-save archive through `docker-archive:`, so the registry holds a
   * Docker schema2 manifest; `oci`: an OCI archive through `oci-archive:`, an OCI manifest.
   */
  format?: 'docker' | 'oci';
  /** Gzip the layers on the way, as skopeo does by default (default true); false keeps them as written (`--preserve-digests`). */
  compress?: boolean;
  /** Account for an authenticated registry; default its first user; null pushes anonymously. */
  login?: RegistryLogin | null;
}

export interface PushedLayer {
  digest: string;
  size: number;
  mediaType: string;
}

export interface PushedTestImage {
  /** `127.0.0.1:PORT/repo:tag` */
  reference: string;
  repo: string;
  tag: string;
  manifestDigest: string;
  manifestMediaType: string;
  manifestSize: number;
  /** The config digest: the image ID docker reports. */
  configDigest: string;
  configSize: number;
  /** As stored in the registry (compressed unless `compress: false`), bottom first. */
  layers: PushedLayer[];
  /** Uncompressed layer digests from the image config, bottom first. */
  diffIds: string[];
}

export interface TestIndexEntry {
  platform: { os: string; architecture: string; variant?: string };
  image: FixtureImage;
}

export interface PushedTestIndex {
  reference: string;
  repo: string;
  tag: string;
  indexDigest: string;
  indexMediaType: string;
  indexSize: number;
  /** The platform images, in index order. */
  manifests: Array<PushedTestImage & { platform: TestIndexEntry['platform'] }>;
}

/**
 * Pushes a fixture image to a registry WITHOUT cargohold: the fixture is written as an archive
 * and `skopeo copy` pushes it. Returns what the registry now holds (read back over plain HTTP).
 */
export async function pushTestImage(target: RegistryTarget, repo: string, tag: string, image: FixtureImage, options: PushTestImageOptions = {}): Promise<PushedTestImage> {
  if (!findExecutable('skopeo')) throw new Error('skopeo is missing: apt-get install -y skopeo');
  const resolved = resolveTarget(target, options.login);
  const format = options.format ?? 'docker';
  const dir = scratchDir('registry-push');
  try {
    const archive = path.join(dir, 'image.tar');
    // One tag in the archive, so that skopeo's archive transports need no image selector.
    await writeDockerArchive(archive, [{ ...image, repoTags: ['cargohold-push-source:latest'] }], { format: format === 'oci' ? 'oci' : 'docker-archive-legacy' });
    const digestFile = path.join(dir, 'digest');
    const args = ['copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', '--digestfile', digestFile];
    if (options.compress === false) args.push('--preserve-digests');
    if (resolved.login) args.push('--dest-creds', `${resolved.login.username}:${resolved.login.password}`);
    else args.push('--dest-no-creds');
    args.push(format === 'oci' ? `oci-archive:${archive}:latest` : `docker-archive:${archive}`, `docker://${resolved.host}/${repo}:${tag}`);
    try {
      // A private auth file, so nothing from this machine's containers auth leaks in.
      await execFileAsync('skopeo', args, { env: { ...process.env, REGISTRY_AUTH_FILE: path.join(dir, 'auth.json') }, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`skopeo copy to ${resolved.host}/${repo}:${tag} failed: ${stderr || (error as Error).message}`);
    }
    const manifestDigest = (await readFile(digestFile, 'utf8')).trim();
    return { ...(await describeManifest(resolved, repo, manifestDigest)), reference: `${resolved.host}/${repo}:${tag}`, tag };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads a pushed image's manifest and config back from the registry. */
async function describeManifest(target: ResolvedTarget, repo: string, digest: string): Promise<Omit<PushedTestImage, 'reference' | 'tag'>> {
  const response = await registryRequest(target, repo, 'pull', `/v2/${repo}/manifests/${digest}`, { headers: { accept: MANIFEST_ACCEPT }, expect: [200] });
  const bytes = Buffer.from(await response.arrayBuffer());
  const manifest = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; config: PushedLayer; layers: PushedLayer[] };
  const configResponse = await registryRequest(target, repo, 'pull', `/v2/${repo}/blobs/${manifest.config.digest}`, { expect: [200] });
  const config = JSON.parse(await configResponse.text()) as { rootfs?: { diff_ids?: string[] } };
  return {
    repo,
    manifestDigest: digest,
    manifestMediaType: manifest.mediaType ?? response.headers.get('content-type') ?? '',
    manifestSize: bytes.length,
    configDigest: manifest.config.digest,
    configSize: manifest.config.size,
    layers: manifest.layers.map(({ digest: d, size, mediaType }) => ({ digest: d, size, mediaType })),
    diffIds: config.rootfs?.diff_ids ?? [],
  };
}

/** linux/amd64 busybox and linux/arm64/v8 multi-layer images (different content, so a pull shows which one it took). */
export function twoPlatformEntries(tag = 'latest'): TestIndexEntry[] {
  return [
    { platform: { os: 'linux', architecture: 'amd64' }, image: busyboxImage(`amd64-${tag}`) },
    { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, image: multiLayerImage(`arm64-${tag}`, 2) },
  ];
}

/**
 * Pushes one image per platform (skopeo, OCI manifests) and then an OCI index over them,
 * PUT with plain fetch. The platform images are pushed under `tag` one after the other, so the
 * tag ends up naming the index and no extra tags are left behind.
 */
export async function pushTestIndex(
  target: RegistryTarget,
  repo: string,
  tag: string,
  entries: TestIndexEntry[] = twoPlatformEntries(tag),
  options: Omit<PushTestImageOptions, 'format'> = {},
): Promise<PushedTestIndex> {
  const resolved = resolveTarget(target, options.login);
  const manifests: PushedTestIndex['manifests'] = [];
  for (const { platform, image } of entries) {
    const pushed = await pushTestImage(target, repo, tag, { ...image, architecture: platform.architecture, os: platform.os }, { ...options, format: 'oci' });
    manifests.push({ ...pushed, platform });
  }
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: manifests.map((m) => ({ mediaType: m.manifestMediaType, digest: m.manifestDigest, size: m.manifestSize, platform: m.platform })),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  const response = await registryRequest(resolved, repo, 'pull,push', `/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': OCI_INDEX },
    body: bytes,
    expect: [201],
  });
  await response.body?.cancel();
  const indexDigest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const announced = response.headers.get('docker-content-digest');
  if (announced && announced !== indexDigest) throw new Error(`the registry stored the index as ${announced}, but it hashes to ${indexDigest}`);
  return { reference: `${resolved.host}/${repo}:${tag}`, repo, tag, indexDigest, indexMediaType: OCI_INDEX, indexSize: bytes.length, manifests };
}
