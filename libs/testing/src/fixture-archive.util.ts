import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import type { Header, Pack } from 'tar-stream';
import { pack as createPack } from 'tar-stream';
import type {
  FixtureImage,
  FixtureImageConfigDocument,
  FixtureLayer,
  WriteArchiveOptions,
  WrittenArchive,
  WrittenImage,
} from './fixture.types';
import type { LayerDigest, TarItem } from './fixture-layer.util';
import { addTarEntry, asError, digestLayer, FIXTURE_MTIME, layerItems, layerTar } from './fixture-layer.util';
import type { FixtureRepoTag } from './image-name.util';
import { parseRepoTag } from './image-name.util';

/** Default `created` of fixture images and their history entries. */
export const FIXTURE_CREATED = '2024-01-01T00:00:00Z';

const MEDIA_TYPE = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

/** Ways to spoil an otherwise correct archive, for the hostile fixtures. */
export interface ArchiveTamper {
  /** Replace the diff_ids written into image `imageIndex`'s config. */
  diffIds?: (imageIndex: number, real: string[]) => string[];
  /** Leave this layer's file out of the archive while manifest.json still names it. */
  omitLayer?: { image: number; layer: number };
  /** Extra top-level archive entries, written first and unsorted (e.g. `../../evil`). */
  extraEntries?: Array<{ name: string; content: Buffer }>;
  /** zlib settings when gzip is on (Z_RLE makes gigabytes of zeros cheap to compress). */
  gzip?: { level: number; strategy: number };
}

interface ResolvedLayer extends LayerDigest {
  items: TarItem[];
}

type OuterEntry =
  | { name: string; kind: 'dir' }
  | { name: string; kind: 'file'; content: Buffer }
  | { name: string; kind: 'symlink'; target: string }
  | { name: string; kind: 'layer'; layer: ResolvedLayer };

interface PreparedImage {
  tags: FixtureRepoTag[];
  layers: ResolvedLayer[];
  config: FixtureImageConfigDocument;
  configBytes: Buffer;
  id: string;
}

/**
 * Writes `docker save` output for `images`. Each layer is generated twice — once to learn its
 * digest and size, once into the archive — so nothing is ever held whole in memory and no
 * temporary layer files are needed. Shared layers are written once.
 */
export async function writeArchive(
  file: string,
  images: FixtureImage[],
  options: WriteArchiveOptions,
  tamper: ArchiveTamper = {},
): Promise<WrittenArchive> {
  if (images.length === 0) throw new Error('writeDockerArchive needs at least one image');
  const layerCache = new Map<FixtureLayer, Promise<ResolvedLayer>>();
  const resolve = (layer: FixtureLayer): Promise<ResolvedLayer> => {
    let resolved = layerCache.get(layer);
    if (!resolved) {
      resolved = layerItems(layer).then(async (items) => ({ items, ...(await digestLayer(items)) }));
      layerCache.set(layer, resolved);
    }
    return resolved;
  };
  const prepared: PreparedImage[] = [];
  for (const [index, image] of images.entries()) {
    if (image.layers.length === 0) throw new Error(`fixture image ${image.repoTags.join(', ') || `#${index}`} has no layers`);
    const layers: ResolvedLayer[] = [];
    for (const layer of image.layers) layers.push(await resolve(layer));
    const diffIds = layers.map((l) => l.diffId);
    const config = imageConfig(image, tamper.diffIds ? tamper.diffIds(index, diffIds) : diffIds);
    const configBytes = Buffer.from(JSON.stringify(config));
    prepared.push({ tags: image.repoTags.map(parseRepoTag), layers, config, configBytes, id: sha256(configBytes) });
  }

  const omit = tamper.omitLayer && prepared[tamper.omitLayer.image]?.layers[tamper.omitLayer.layer]?.diffId;
  if (tamper.omitLayer && !omit) throw new Error(`omitLayer ${JSON.stringify(tamper.omitLayer)} names no layer`);
  const layout = options.format === 'oci' ? ociLayout(prepared, omit) : legacyLayout(prepared, omit);
  await mkdir(path.dirname(file), { recursive: true });
  await writeOuterTar(file, layout.entries, tamper.extraEntries ?? [], options.gzip ? (tamper.gzip ?? { level: 6, strategy: zlibConstants.Z_DEFAULT_STRATEGY }) : undefined);
  return { file, format: options.format, images: layout.images };
}

function imageConfig(image: FixtureImage, diffIds: string[]): FixtureImageConfigDocument {
  const created = image.created ?? FIXTURE_CREATED;
  return {
    architecture: image.architecture ?? hostArchitecture(),
    config: image.config ?? {},
    created,
    history: image.layers.map((layer, i) => ({
      created,
      created_by: layer.createdBy ?? `cargohold fixture layer ${i + 1}`,
      comment: 'cargohold test fixture',
    })),
    os: image.os ?? 'linux',
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
}

/** Docker ≥ 25: an OCI image layout plus manifest.json and repositories for older loaders. */
function ociLayout(images: PreparedImage[], omitDiffId: string | undefined): { entries: OuterEntry[]; images: WrittenImage[] } {
  const entries = new Map<string, OuterEntry>();
  const put = (entry: OuterEntry): void => void entries.set(entry.name, entry);
  put({ name: 'blobs', kind: 'dir' });
  put({ name: 'blobs/sha256', kind: 'dir' });
  const blobPath = (digest: string): string => `blobs/sha256/${hex(digest)}`;
  const descriptors: object[] = [];
  const manifestJson: object[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written: WrittenImage[] = [];

  for (const image of images) {
    const platform = { architecture: image.config.architecture, os: image.config.os };
    for (const layer of image.layers) {
      if (layer.diffId !== omitDiffId) put({ name: blobPath(layer.diffId), kind: 'layer', layer });
    }
    put({ name: blobPath(image.id), kind: 'file', content: image.configBytes });
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.manifest,
      config: { mediaType: MEDIA_TYPE.config, digest: image.id, size: image.configBytes.length },
      layers: image.layers.map((l) => ({ mediaType: MEDIA_TYPE.layer, digest: l.diffId, size: l.size })),
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = sha256(manifestBytes);
    put({ name: blobPath(manifestDigest), kind: 'file', content: manifestBytes });
    const descriptor = { mediaType: MEDIA_TYPE.manifest, digest: manifestDigest, size: manifestBytes.length, platform };
    // One index entry per tag (like Docker); an untagged image still gets one, without names.
    if (image.tags.length === 0) descriptors.push(descriptor);
    for (const tag of image.tags) {
      descriptors.push({
        ...descriptor,
        annotations: { 'io.containerd.image.name': tag.fullName, 'org.opencontainers.image.ref.name': tag.tag },
      });
      (repositories[tag.familiarName] ??= {})[tag.tag] = hex(image.layers[image.layers.length - 1].diffId);
    }
    const repoTags = image.tags.map((t) => `${t.familiarName}:${t.tag}`);
    manifestJson.push({ Config: blobPath(image.id), RepoTags: repoTags, Layers: image.layers.map((l) => blobPath(l.diffId)) });
    written.push(writtenImage(image, repoTags, manifestDigest));
  }

  put({ name: 'index.json', kind: 'file', content: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: descriptors })) });
  put({ name: 'manifest.json', kind: 'file', content: jsonLine(manifestJson) });
  put({ name: 'oci-layout', kind: 'file', content: Buffer.from('{"imageLayoutVersion": "1.0.0"}') });
  if (Object.keys(repositories).length > 0) put({ name: 'repositories', kind: 'file', content: jsonLine(repositories) });
  return { entries: [...entries.values()], images: written };
}

/**
 * Docker < 25: one directory per v1 layer ID (VERSION, json, layer.tar), `<config hex>.json`,
 * manifest.json, repositories. Like Docker, a layer already saved under another v1 ID becomes a
 * relative symlink `../<first>/layer.tar`.
 */
function legacyLayout(images: PreparedImage[], omitDiffId: string | undefined): { entries: OuterEntry[]; images: WrittenImage[] } {
  const entries = new Map<string, OuterEntry>();
  const put = (entry: OuterEntry): void => void entries.set(entry.name, entry);
  const layerFileByDiffId = new Map<string, string>();
  const manifestJson: object[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written: WrittenImage[] = [];

  for (const image of images) {
    let parent: string | undefined;
    let chainId: string | undefined;
    const layerPaths: string[] = [];
    for (const [i, layer] of image.layers.entries()) {
      chainId = chainId === undefined ? layer.diffId : sha256(Buffer.from(`${chainId} ${layer.diffId}`));
      const isTop = i === image.layers.length - 1;
      // Docker keys lower layers by chain alone and the top one by the image config too.
      const v1Base = isTop
        ? { architecture: image.config.architecture, config: image.config.config, created: image.config.created, os: image.config.os }
        : { created: '1970-01-01T00:00:00Z' };
      const v1Id = hex(sha256(Buffer.from(JSON.stringify({ ...v1Base, layer_id: chainId, ...(parent ? { parent } : {}) }))));
      const dir = v1Id;
      layerPaths.push(`${dir}/layer.tar`);
      if (!entries.has(dir)) {
        put({ name: dir, kind: 'dir' });
        put({ name: `${dir}/VERSION`, kind: 'file', content: Buffer.from('1.0') });
        put({ name: `${dir}/json`, kind: 'file', content: Buffer.from(JSON.stringify({ id: v1Id, ...(parent ? { parent } : {}), ...v1Base })) });
        const first = layerFileByDiffId.get(layer.diffId);
        if (layer.diffId === omitDiffId) {
          // left out on purpose
        } else if (first) {
          put({ name: `${dir}/layer.tar`, kind: 'symlink', target: `../${first}` });
        } else {
          put({ name: `${dir}/layer.tar`, kind: 'layer', layer });
          layerFileByDiffId.set(layer.diffId, `${dir}/layer.tar`);
        }
      }
      parent = v1Id;
    }
    const configName = `${hex(image.id)}.json`;
    put({ name: configName, kind: 'file', content: image.configBytes });
    for (const tag of image.tags) (repositories[tag.familiarName] ??= {})[tag.tag] = parent as string;
    const repoTags = image.tags.map((t) => `${t.familiarName}:${t.tag}`);
    manifestJson.push({ Config: configName, RepoTags: repoTags, Layers: layerPaths });
    written.push(writtenImage(image, repoTags));
  }

  put({ name: 'manifest.json', kind: 'file', content: jsonLine(manifestJson) });
  if (Object.keys(repositories).length > 0) put({ name: 'repositories', kind: 'file', content: jsonLine(repositories) });
  return { entries: [...entries.values()], images: written };
}

function writtenImage(image: PreparedImage, repoTags: string[], manifestDigest?: string): WrittenImage {
  return {
    id: image.id,
    ...(manifestDigest ? { manifestDigest } : {}),
    diffIds: image.layers.map((l) => l.diffId),
    layerSizes: image.layers.map((l) => l.size),
    repoTags,
    config: image.config,
  };
}

async function writeOuterTar(
  file: string,
  entries: OuterEntry[],
  extra: Array<{ name: string; content: Buffer }>,
  gzip: { level: number; strategy: number } | undefined,
): Promise<void> {
  // Docker tars a directory walk: lexical order, parents before children.
  const sorted = [...entries].sort((a, b) => compareByComponents(a.name, b.name));
  const pack = createPack();
  const fill = async (): Promise<void> => {
    for (const { name, content } of extra) await addTarEntry(pack, outerHeader(name, { type: 'file', size: content.length }), [content]);
    for (const entry of sorted) await addOuterEntry(pack, entry);
    pack.finalize();
  };
  const filling = fill().catch((error: unknown) => {
    pack.destroy(asError(error));
    throw error;
  });
  const source = Readable.from(pack);
  const writing = gzip ? pipeline(source, createGzip(gzip), createWriteStream(file)) : pipeline(source, createWriteStream(file));
  await Promise.all([filling, writing]);
}

async function addOuterEntry(pack: Pack, entry: OuterEntry): Promise<void> {
  switch (entry.kind) {
    case 'dir':
      return addTarEntry(pack, outerHeader(`${entry.name}/`, { type: 'directory', mode: 0o755 }));
    case 'file':
      return addTarEntry(pack, outerHeader(entry.name, { type: 'file', size: entry.content.length }), [entry.content]);
    case 'symlink':
      return addTarEntry(pack, outerHeader(entry.name, { type: 'symlink', linkname: entry.target, mode: 0o777 }));
    case 'layer': {
      const { layer } = entry;
      const header = outerHeader(entry.name, { type: 'file', size: layer.size });
      // Generated bytes cannot change; content read from disk could, so it is hashed again.
      if (!layer.items.some((item) => item.fromDisk)) return addTarEntry(pack, header, layerTar(layer.items) as AsyncIterable<Buffer>);
      const hash = createHash('sha256');
      await addTarEntry(pack, header, hashed(layerTar(layer.items), hash));
      const again = `sha256:${hash.digest('hex')}`;
      if (again !== layer.diffId) {
        throw new Error(`fixture layer changed between passes (${layer.diffId} then ${again}): is a layer directory being modified?`);
      }
      return;
    }
  }
}

async function* hashed(source: AsyncIterable<unknown>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk as Buffer);
    yield chunk as Buffer;
  }
}

function outerHeader(name: string, fields: Partial<Header> & Pick<Header, 'type'>): Header {
  return { name, size: 0, mode: 0o644, mtime: FIXTURE_MTIME, linkname: '', uid: 0, gid: 0, uname: '', gname: '', devmajor: 0, devminor: 0, ...fields };
}

function compareByComponents(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

function jsonLine(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`);
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** GOARCH of this machine: fixtures carry host binaries (busybox), so they claim the host platform. */
export function hostArchitecture(): string {
  const map: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  return map[process.arch] ?? process.arch;
}
