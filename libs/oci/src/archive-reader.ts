import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { ArchiveError, UnsafeArchiveError } from './archive-errors';
import { cleanEntryPath, describeUnsafePath, parentPaths } from './archive-path.util';
import { decompress } from './compression.util';
import type { DecompressProgress } from './compression.util';
import { InvalidDigestError, isSha256Digest, parseDigest } from './digest';
import type { Sha256Digest } from './digest';
import { ImageConfigError, parseImageConfig } from './image-config';
import type { ImageConfig } from './image-config';
import { createLayerInspector, DEFAULT_MAX_RATIO, DEFAULT_RATIO_THRESHOLD } from './layer-inspector';
import type { LayerInspection, LayerInspectorLimits } from './layer-inspector';
import { ManifestError, parseManifest } from './manifest';
import type { Descriptor, ImageManifest, ParsedManifest } from './manifest';
import { MediaType } from './media-types';
import { familiarString, InvalidReferenceError, parseReference, withDefaultTag } from './reference';
import { createTarExtract, describeTarError, endTarExtract } from './tar-extract.util';
import type { TarEntry } from './tar-extract.util';
import { noop, writeChunk } from './stream.util';
import { formatZodError } from './zod-issues.util';

/** Where the reader hands every file of the archive, to be stored content-addressed. */
export interface ArchiveBlobSink {
  /**
   * Consume `stream` (exactly `size` bytes) and store it. `expectedDigest` is set for
   * `blobs/sha256/<hex>` entries; a sink should refuse content that does not match it.
   */
  putEntry(path: string, stream: Readable, size: number, expectedDigest?: string): Promise<{ digest: string; size: number }>;
}

export interface ArchiveReaderLimits {
  /** Most bytes the (uncompressed) archive may hold (default: no limit). */
  maxBytes?: number;
  /** Most entries the archive may hold (default 1,000,000). */
  maxEntries?: number;
  /** Most bytes of JSON kept in memory across all metadata files (default 64 MiB). */
  maxMetadataBytes?: number;
  /** Limits for each layer inside the archive. */
  layer?: LayerInspectorLimits;
}

export interface ArchiveLayer {
  /** Digest of the layer file as stored in the archive (and in the sink). */
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
  contentSize: number;
}

export interface ArchiveImage {
  config: { digest: string; bytes: Buffer };
  layers: ArchiveLayer[];
  /** The manifest the archive carries for this image (OCI layout), byte for byte. */
  manifest?: { digest: string; mediaType: string; bytes: Buffer };
  /** As written in the archive, e.g. `busybox:latest`. */
  repoTags: string[];
}

export interface ArchiveContents {
  format: 'docker-archive' | 'oci-layout';
  images: ArchiveImage[];
}

/** Files of the archive's own bookkeeping: read, never stored as blobs. */
const LAYOUT_FILES = new Set(['manifest.json', 'index.json', 'repositories', 'oci-layout']);
const MAX_JSON_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 1_000_000;
const DEFAULT_MAX_METADATA_BYTES = 64 * 1024 * 1024;
const MAX_SYMLINK_HOPS = 40;
const SNIFF_BYTES = 512;
const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

interface FileNode {
  kind: 'file';
  path: string;
  size: number;
  digest: Sha256Digest;
  /** Kept when the file is small and looks like JSON. */
  json?: Buffer;
  inspection?: LayerInspection;
  inspectionError?: Error;
}
type ArchiveNode = FileNode | { kind: 'directory' } | { kind: 'symlink'; linkname: string; target: string };

const manifestJsonSchema = z.array(
  z.looseObject({
    Config: z.string(),
    RepoTags: z.array(z.string()).nullish(),
    Layers: z.array(z.string()),
  }),
);

function looksLikeJson(head: Buffer): boolean {
  for (const byte of head) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b || byte === 0x5b;
  }
  return false;
}

/** For `blobs/<alg>/<hex>` paths: the digest the content must have. */
function expectedBlobDigest(path: string): Sha256Digest | undefined {
  const match = /^blobs\/([^/]+)\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  const digest = `${match[1]}:${match[2]}`;
  try {
    parseDigest(digest);
  } catch (err) {
    if (err instanceof InvalidDigestError) {
      throw new ArchiveError(`archive entry "${path}" is not named by a valid digest: ${err.message}`, path);
    }
    throw err;
  }
  if (match[1] !== 'sha256') {
    throw new ArchiveError(`archive entry "${path}" uses digest algorithm ${match[1]}; only sha256 is supported`, path);
  }
  return digest as Sha256Digest;
}

/** Resolves when `put` settles first: a rejection is the sink's error, a resolution is premature. */
function sinkSettledEarly(put: Promise<unknown>, path: string): Promise<never> {
  const early = put.then(() => {
    throw new ArchiveError(`the blob sink returned before reading all of "${path}"`, path);
  });
  early.catch(noop);
  return early;
}

class ArchiveReader {
  private readonly nodes = new Map<string, ArchiveNode>();
  private readonly symlinks: string[] = [];
  private entries = 0;
  private metadataBytes = 0;

  constructor(
    private readonly sink: ArchiveBlobSink,
    private readonly limits: ArchiveReaderLimits,
  ) {}

  async handleEntry(entry: TarEntry): Promise<void> {
    const header = entry.header;
    const name = header.name;
    this.entries += 1;
    const maxEntries = this.limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (this.entries > maxEntries) {
      throw new UnsafeArchiveError(`image archive has more than ${maxEntries} entries (at "${name}")`, name);
    }
    const cleaned = cleanEntryPath(name);
    if (!cleaned.ok) throw new UnsafeArchiveError(`archive entry "${name}" ${describeUnsafePath(cleaned.reason)}`, name);
    const path = cleaned.path;
    if (path === '' && header.type !== 'directory') {
      throw new UnsafeArchiveError(`archive entry "${name}" would replace the archive root`, name);
    }
    for (const parent of parentPaths(path)) {
      if (this.nodes.get(parent)?.kind === 'symlink') {
        throw new UnsafeArchiveError(`archive entry "${name}" runs through "${parent}", a symlink`, name);
      }
    }

    switch (header.type) {
      case 'file':
      case 'contiguous-file':
        this.nodes.set(path, await this.readFile(path, entry, header.size ?? 0));
        return;
      case 'directory':
        await drain(entry);
        if (path !== '') this.nodes.set(path, { kind: 'directory' });
        return;
      case 'symlink': {
        await drain(entry);
        const linkname = header.linkname ?? '';
        const target = linkname.startsWith('/') ? null : cleanEntryPath(posix.join(posix.dirname(path), linkname));
        if (!target?.ok || target.path === '') {
          throw new UnsafeArchiveError(`archive entry "${name}" is a symlink to "${linkname}", outside the archive`, name);
        }
        this.nodes.set(path, { kind: 'symlink', linkname, target: target.path });
        this.symlinks.push(path);
        return;
      }
      case 'link': {
        await drain(entry);
        const linkname = header.linkname ?? '';
        const target = cleanEntryPath(linkname);
        if (!target.ok) {
          throw new UnsafeArchiveError(`archive entry "${name}" is a hardlink to "${linkname}", outside the archive`, name);
        }
        const node = this.nodes.get(target.path);
        if (node?.kind !== 'file') {
          throw new ArchiveError(
            `archive entry "${name}" is a hardlink to "${linkname}", which is not a file earlier in the archive`,
            name,
          );
        }
        this.nodes.set(path, node);
        return;
      }
      case 'character-device':
      case 'block-device':
        throw new UnsafeArchiveError(`archive entry "${name}" is a ${header.type}; device nodes are refused`, name);
      case 'fifo':
      default:
        throw new ArchiveError(
          `archive entry "${name}" has an unsupported type (${header.type ?? 'unknown'}); an image archive holds files, directories and links`,
          name,
        );
    }
  }

  /** Streams one file to the sink (and the layer inspector), keeping small JSON files in memory. */
  private async readFile(path: string, entry: TarEntry, size: number): Promise<FileNode> {
    const chunks = (entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let headLength = 0;
    while (headLength < Math.min(size, SNIFF_BYTES)) {
      const next = await chunks.next();
      if (next.done) break;
      head.push(next.value);
      headLength += next.value.length;
    }
    const layoutFile = LAYOUT_FILES.has(path);
    const keepJson = size <= MAX_JSON_BYTES && looksLikeJson(Buffer.concat(head));
    if (layoutFile && size > MAX_JSON_BYTES) {
      throw new ArchiveError(`archive entry "${path}" is ${size} bytes; at most ${MAX_JSON_BYTES} are allowed`, path);
    }
    if (keepJson || layoutFile) {
      this.metadataBytes += size;
      const max = this.limits.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES;
      if (this.metadataBytes > max) {
        throw new UnsafeArchiveError(`image archive holds more than ${max} bytes of JSON metadata (at "${path}")`, path);
      }
    }
    const rest = async function* (): AsyncGenerator<Buffer> {
      yield* head;
      for (;;) {
        const next = await chunks.next();
        if (next.done) return;
        yield next.value;
      }
    };

    const kept: Buffer[] = [];
    if (layoutFile) {
      const hash = createHash('sha256');
      for await (const chunk of rest()) {
        hash.update(chunk);
        kept.push(chunk);
      }
      return { kind: 'file', path, size, digest: `sha256:${hash.digest('hex')}`, json: Buffer.concat(kept) };
    }

    const expected = expectedBlobDigest(path);
    const pass = new PassThrough();
    // A sink that already gave up no longer listens; our own failure is reported by the caller.
    pass.on('error', noop);
    const put = this.sink.putEntry(path, pass, size, expected);
    // The sink hashes what it stores (that is its contract); the inspector reuses that digest as
    // the diff ID of a plain layer, so each byte is hashed once on this path, not three times.
    const inspector = createLayerInspector(this.limits.layer, { plainDigest: async () => (await put).digest as Sha256Digest });
    const early = sinkSettledEarly(put, path);
    let written = 0;
    try {
      for await (const chunk of rest()) {
        written += chunk.length;
        if (keepJson) kept.push(chunk);
        const writes = Promise.all([writeChunk(pass, chunk), writeChunk(inspector.sink, chunk).catch(noop)]);
        // When the sink wins the race, the abandoned writes fail later; that is expected.
        writes.catch(noop);
        await Promise.race([writes, early]);
      }
      if (written !== size) throw new ArchiveError(`archive entry "${path}" ended after ${written} of ${size} bytes`, path);
      pass.end();
      inspector.sink.end();
    } catch (err) {
      pass.destroy(err as Error);
      inspector.sink.destroy();
      await put.catch(noop);
      throw err;
    }
    const stored = await put;
    if (!isSha256Digest(stored.digest) || stored.size !== size) {
      throw new ArchiveError(`the blob sink stored "${path}" as ${stored.digest} (${stored.size} bytes), but the archive holds ${size} bytes`, path);
    }
    const digest: Sha256Digest = stored.digest;
    if (expected !== undefined && digest !== expected) {
      throw new ArchiveError(`archive entry "${path}" does not match its name: its content has digest ${digest}`, path);
    }
    const node: FileNode = { kind: 'file', path, size, digest };
    if (keepJson) node.json = Buffer.concat(kept);
    try {
      node.inspection = await inspector.result;
    } catch (err) {
      node.inspectionError = err as Error;
    }
    return node;
  }

  /** Follows symlinks (inside the archive) component by component. */
  private resolvePath(path: string, hops = { count: 0 }): string {
    let resolved = '';
    for (const component of path.split('/')) {
      const candidate = resolved ? `${resolved}/${component}` : component;
      const node = this.nodes.get(candidate);
      if (node?.kind === 'symlink') {
        hops.count += 1;
        if (hops.count > MAX_SYMLINK_HOPS) {
          throw new UnsafeArchiveError(`too many levels of symbolic links resolving "${path}"`, path);
        }
        resolved = this.resolvePath(node.target, hops);
      } else {
        resolved = candidate;
      }
    }
    return resolved;
  }

  /** Every symlink must lead to something in the archive. */
  checkSymlinks(): void {
    for (const path of this.symlinks) {
      const node = this.nodes.get(path);
      if (node?.kind !== 'symlink') continue;
      if (!this.nodes.has(this.resolvePath(path))) {
        throw new ArchiveError(`archive entry "${path}" is a symlink to "${node.linkname}", which is not in the archive`, path);
      }
    }
  }

  /** The file a path inside the archive names (after symlinks), or null when absent. */
  findFile(reference: string, referrer: string): FileNode | null {
    const cleaned = cleanEntryPath(reference);
    if (!cleaned.ok) {
      throw new UnsafeArchiveError(`${referrer} references "${reference}", which ${describeUnsafePath(cleaned.reason)}`, reference);
    }
    const node = this.nodes.get(this.resolvePath(cleaned.path));
    return node?.kind === 'file' ? node : null;
  }

  requireFile(reference: string, referrer: string): FileNode {
    const node = this.findFile(reference, referrer);
    if (!node) throw new ArchiveError(`invalid archive: ${referrer} references "${reference}", which is not in the archive`, reference);
    return node;
  }

  findBlob(digest: string): FileNode | null {
    const { algorithm, encoded } = parseDigest(digest);
    return this.findFile(`blobs/${algorithm}/${encoded}`, 'index.json');
  }

  allFiles(): FileNode[] {
    const seen = new Set<FileNode>();
    for (const node of this.nodes.values()) if (node.kind === 'file') seen.add(node);
    return [...seen];
  }
}

async function drain(entry: TarEntry): Promise<void> {
  for await (const _chunk of entry) {
    // Links and directories carry no data; anything there is skipped.
  }
}

function jsonOf(node: FileNode, what: string): Buffer {
  if (!node.json) {
    throw new ArchiveError(`${what} "${node.path}" is not a JSON document of at most ${MAX_JSON_BYTES} bytes`, node.path);
  }
  return node.json;
}

function parseJson(node: FileNode, what: string): unknown {
  try {
    return JSON.parse(jsonOf(node, what).toString('utf8'));
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    throw new ArchiveError(`invalid archive: ${what} "${node.path}" is not valid JSON: ${(err as Error).message}`, node.path);
  }
}

function readConfig(node: FileNode): ImageConfig {
  try {
    return parseImageConfig(jsonOf(node, 'image config'));
  } catch (err) {
    if (err instanceof ImageConfigError) throw new ArchiveError(`${err.message} (in "${node.path}")`, node.path);
    throw err;
  }
}

function requireInspection(node: FileNode, index: number): LayerInspection {
  if (node.inspection) return node.inspection;
  const cause = node.inspectionError ?? new ArchiveError('not inspected');
  const message = `layer ${index} ("${node.path}") cannot be used: ${cause.message}`;
  throw cause instanceof UnsafeArchiveError ? new UnsafeArchiveError(message, node.path) : new ArchiveError(message, node.path);
}

/** Layers of a config, checked against the config's rootfs.diff_ids in order. */
function buildLayers(
  files: FileNode[],
  config: ImageConfig,
  configPath: string,
  mediaTypeOf: (file: FileNode, inspection: LayerInspection, index: number) => string,
): ArchiveLayer[] {
  const diffIds = config.rootfs.diff_ids;
  if (files.length !== diffIds.length) {
    throw new ArchiveError(
      `invalid manifest, layers length mismatch: expected ${files.length}, got ${diffIds.length} (diff_ids of "${configPath}")`,
      configPath,
    );
  }
  return files.map((file, i) => {
    const inspection = requireInspection(file, i);
    if (inspection.diffId !== diffIds[i]) {
      throw new ArchiveError(
        `invalid diffID for layer ${i} ("${file.path}"): expected "${diffIds[i]}", got "${inspection.diffId}"`,
        file.path,
      );
    }
    return {
      digest: file.digest,
      size: file.size,
      mediaType: mediaTypeOf(file, inspection, i),
      diffId: inspection.diffId,
      contentSize: inspection.contentSize,
    };
  });
}

function checkDescriptor(descriptor: Descriptor, node: FileNode): void {
  if (descriptor.size !== node.size) {
    throw new ArchiveError(
      `blob ${descriptor.digest} is ${node.size} bytes in the archive, but its descriptor says ${descriptor.size}`,
      node.path,
    );
  }
}

/** Repo tags an OCI index entry names (Docker and containerd write both annotations). */
function tagsFromAnnotations(annotations: Record<string, string> | undefined): string[] {
  const imageName = annotations?.[ANNOTATION_IMAGE_NAME];
  const refName = annotations?.[ANNOTATION_REF_NAME];
  const candidate = imageName ?? (refName !== undefined && /[:/]/.test(refName) ? refName : undefined);
  if (candidate === undefined) return [];
  try {
    const ref = withDefaultTag(parseReference(candidate));
    return ref.tag !== undefined ? [familiarString({ ...ref, digest: undefined })] : [];
  } catch (err) {
    if (err instanceof InvalidReferenceError && imageName === undefined) return [];
    if (err instanceof InvalidReferenceError) {
      throw new ArchiveError(`index.json names an image "${candidate}": ${err.message}`, 'index.json');
    }
    throw err;
  }
}

const IMAGE_CONFIG_TYPES: readonly string[] = [MediaType.DockerConfig, MediaType.OciConfig];

interface FoundManifest {
  node: FileNode;
  manifest: ImageManifest;
  mediaType: string;
  tags: string[];
  /** Reached from index.json (rather than merely present in blobs/). */
  indexed: boolean;
}

function isAttestation(descriptor: Descriptor): boolean {
  return (
    descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    descriptor.platform?.os === 'unknown'
  );
}

function parseStoredManifest(node: FileNode, mediaType?: string): ParsedManifest {
  try {
    return parseManifest(jsonOf(node, 'manifest'), mediaType);
  } catch (err) {
    if (err instanceof ManifestError) throw new ArchiveError(`${err.message} (in "${node.path}")`, node.path);
    throw err;
  }
}

/** Image manifests index.json leads to, with the tags their index entries carry. */
function walkIndex(reader: ArchiveReader, indexNode: FileNode): FoundManifest[] {
  const found: FoundManifest[] = [];
  const seen = new Set<string>();
  const visit = (descriptor: Descriptor, tags: string[], nested: boolean, depth: number): void => {
    if (depth > 8) throw new ArchiveError('index.json nests image indexes too deeply', 'index.json');
    const node = reader.findBlob(descriptor.digest);
    if (!node) {
      // `docker save` of a multi-platform image exports only the platforms present locally.
      if (nested) return;
      throw new ArchiveError(`invalid archive: index.json references ${descriptor.digest}, which is not in the archive`, 'index.json');
    }
    checkDescriptor(descriptor, node);
    const parsed = parseStoredManifest(node, descriptor.mediaType);
    if (parsed.kind === 'index') {
      for (const child of parsed.manifests) {
        if (!isAttestation(child)) visit(child, tags, true, depth + 1);
      }
      return;
    }
    if (!IMAGE_CONFIG_TYPES.includes(parsed.config.mediaType)) return;
    if (nested && !reader.findBlob(parsed.config.digest)) return;
    const key = `${node.digest} ${tags.join(',')}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push({ node, manifest: parsed, mediaType: parsed.mediaType, tags, indexed: true });
  };
  const index = parseStoredManifest(indexNode);
  if (index.kind !== 'index') throw new ArchiveError('invalid archive: index.json is not an image index', 'index.json');
  for (const descriptor of index.manifests) visit(descriptor, tagsFromAnnotations(descriptor.annotations), false, 0);
  return found;
}

function walkIndexLeniently(reader: ArchiveReader, indexNode: FileNode): FoundManifest[] {
  try {
    return walkIndex(reader, indexNode);
  } catch (err) {
    if (err instanceof ArchiveError && !(err instanceof UnsafeArchiveError)) return [];
    throw err;
  }
}

function imageFromManifest(reader: ArchiveReader, found: FoundManifest): ArchiveImage {
  const { manifest, node } = found;
  const configNode = reader.findBlob(manifest.config.digest);
  if (!configNode) {
    throw new ArchiveError(`invalid archive: manifest ${node.digest} references config ${manifest.config.digest}, which is not in the archive`, node.path);
  }
  checkDescriptor(manifest.config, configNode);
  const config = readConfig(configNode);
  const files = manifest.layers.map((descriptor) => {
    const file = reader.findBlob(descriptor.digest);
    if (!file) {
      throw new ArchiveError(`invalid archive: manifest ${node.digest} references layer ${descriptor.digest}, which is not in the archive`, node.path);
    }
    checkDescriptor(descriptor, file);
    return file;
  });
  const layers = buildLayers(files, config, configNode.path, (_file, _inspection, i) => manifest.layers[i].mediaType);
  return {
    config: { digest: configNode.digest, bytes: jsonOf(configNode, 'image config') },
    layers,
    manifest: { digest: node.digest, mediaType: found.mediaType, bytes: jsonOf(node, 'manifest') },
    repoTags: [...found.tags],
  };
}

/** Every image manifest stored among the blobs (also those index.json does not name). */
function manifestsInBlobs(reader: ArchiveReader, indexed: FoundManifest[]): FoundManifest[] {
  const out = [...indexed];
  const known = new Set(indexed.map((f) => f.node));
  for (const node of reader.allFiles()) {
    if (known.has(node) || !node.json || !node.path.startsWith('blobs/')) continue;
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(node.json);
    } catch {
      continue;
    }
    if (parsed.kind === 'manifest') out.push({ node, manifest: parsed, mediaType: parsed.mediaType, tags: [], indexed: false });
  }
  return out;
}

function dockerManifestImages(reader: ArchiveReader, manifestNode: FileNode, format: ArchiveContents['format'], indexed: FoundManifest[]): ArchiveImage[] {
  const body = parseJson(manifestNode, 'manifest.json');
  if (body === null) throw new ArchiveError('invalid manifest, manifest cannot be null (but can be [])', 'manifest.json');
  const parsed = manifestJsonSchema.safeParse(body);
  if (!parsed.success) throw new ArchiveError(`invalid archive: manifest.json: ${formatZodError(parsed.error)}`, 'manifest.json');
  const candidates = format === 'oci-layout' ? manifestsInBlobs(reader, indexed) : [];

  return parsed.data.map((item) => {
    const configNode = reader.requireFile(item.Config, 'manifest.json');
    const config = readConfig(configNode);
    const files = item.Layers.map((layer) => reader.requireFile(layer, 'manifest.json'));
    const digests = files.map((f) => f.digest);
    // The archive's own manifest for this image, when it carries one (Docker >= 25 does).
    const match = candidates
      .filter((c) => c.manifest.config.digest === configNode.digest)
      .filter((c) => c.manifest.layers.length === digests.length && c.manifest.layers.every((l, j) => l.digest === digests[j]))
      .sort((a, b) => Number(b.indexed) - Number(a.indexed))[0];
    const layers = buildLayers(files, config, configNode.path, (_file, inspection, j) => {
      if (match) return match.manifest.layers[j].mediaType;
      if (format === 'oci-layout') return inspection.compressed ? MediaType.OciLayerGzip : MediaType.OciLayer;
      return inspection.compressed ? MediaType.DockerLayerGzip : MediaType.DockerLayer;
    });
    const image: ArchiveImage = {
      config: { digest: configNode.digest, bytes: jsonOf(configNode, 'image config') },
      layers,
      repoTags: [...(item.RepoTags ?? [])],
    };
    if (match) image.manifest = { digest: match.node.digest, mediaType: match.mediaType, bytes: jsonOf(match.node, 'manifest') };
    return image;
  });
}

/** One image per config (and manifest); tags of duplicates are merged. */
function mergeImages(images: ArchiveImage[]): ArchiveImage[] {
  const byKey = new Map<string, ArchiveImage>();
  for (const image of images) {
    const key = `${image.config.digest} ${image.manifest?.digest ?? ''}`;
    const existing = byKey.get(key);
    if (!existing) {
      byKey.set(key, image);
      continue;
    }
    for (const tag of image.repoTags) if (!existing.repoTags.includes(tag)) existing.repoTags.push(tag);
  }
  return [...byKey.values()];
}

/**
 * Reads what `docker save` writes (the legacy docker-archive, or the Docker >= 25 / OCI layout),
 * plain or gzip-compressed, from a stream. Every file is handed to `sink` as it streams past (the
 * archive's index may come last); layers are inspected on the way. Nothing is buffered but JSON
 * metadata.
 */
export async function readImageArchive(
  source: Readable,
  sink: ArchiveBlobSink,
  limits: ArchiveReaderLimits = {},
): Promise<ArchiveContents> {
  const reader = new ArchiveReader(sink, limits);
  const extract = createTarExtract();
  const progress: DecompressProgress = { compression: null, compressedBytes: 0 };
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  const maxRatio = limits.layer?.maxRatio ?? DEFAULT_MAX_RATIO;
  const ratioThreshold = limits.layer?.ratioThreshold ?? DEFAULT_RATIO_THRESHOLD;
  let firstError: unknown = null;
  let tarError: unknown = null;
  let current = '';
  extract.on('error', (err: unknown) => {
    tarError ??= err;
  });

  const feeding = (async () => {
    let total = 0;
    try {
      for await (const chunk of decompress(source, progress, 'image archive')) {
        total += chunk.length;
        if (total > maxBytes) {
          throw new UnsafeArchiveError(`image archive is larger than the limit of ${maxBytes} bytes${current ? ` (at "${current}")` : ''}`);
        }
        // A compressed archive is held to the same expansion rule as a compressed layer (bombs).
        if (progress.compression === 'gzip' && total > ratioThreshold && total > maxRatio * progress.compressedBytes) {
          throw new UnsafeArchiveError(
            `image archive expands more than ${maxRatio}x (${progress.compressedBytes} gzip bytes became ${total}): refusing a decompression bomb`,
          );
        }
        await writeChunk(extract, chunk);
      }
      endTarExtract(extract);
    } catch (err) {
      firstError ??= err;
      extract.destroy(err as Error);
    }
  })();

  try {
    for await (const entry of extract) {
      current = entry.header.name;
      await reader.handleEntry(entry);
    }
  } catch (err) {
    firstError ??= err === tarError ? describeTarError(err as Error, current, 'image archive') : err;
    extract.destroy(null);
    source.destroy();
  }
  await feeding;
  if (firstError !== null) throw firstError;

  reader.checkSymlinks();
  const manifestNode = reader.findFile('manifest.json', 'archive');
  const indexNode = reader.findFile('index.json', 'archive');
  const format: ArchiveContents['format'] = indexNode || reader.findFile('oci-layout', 'archive') ? 'oci-layout' : 'docker-archive';
  if (!manifestNode && !indexNode) {
    throw new ArchiveError('invalid archive: does not contain a manifest.json or an index.json');
  }
  // With a manifest.json the index only lends its manifests; dockerd itself ignores it then.
  const indexed = indexNode ? (manifestNode ? walkIndexLeniently(reader, indexNode) : walkIndex(reader, indexNode)) : [];
  const images = manifestNode
    ? dockerManifestImages(reader, manifestNode, format, indexed)
    : indexed.map((found) => imageFromManifest(reader, found));
  return { format, images: mergeImages(images) };
}
