import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseDigest } from './digest';
import { MediaType } from './media-types';
import { familiarName, familiarString, formatReference, parseReference, withDefaultTag } from './reference';
import type { Reference } from './reference';
import { encodeTarHeader, END_OF_ARCHIVE, tarPadding } from './tar-header.util';

export interface ArchiveImageToWrite {
  /** The image ID (its config digest); images given twice are written once, tags merged. */
  id: string;
  config: { digest: string; size: number };
  manifest: { digest: string; mediaType: string; size: number };
  layers: Array<{ digest: string; size: number; mediaType: string }>;
  /** Familiar tags, e.g. `busybox:latest`. */
  repoTags: string[];
}

/** Opens a stored blob for reading. */
export type OpenBlob = (digest: string) => Promise<Readable>;

/** Every entry gets the same timestamp so saving the same images twice gives the same bytes. */
const FIXED_MTIME = 0;
const OCI_LAYOUT = '{"imageLayoutVersion": "1.0.0"}';
const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

interface PlannedImage {
  source: ArchiveImageToWrite;
  tags: Reference[];
}

interface ArchivePlan {
  blobs: Array<{ digest: string; hex: string; size: number }>;
  metadata: Array<{ name: string; content: Buffer }>;
}

function blobHex(digest: string, what: string): string {
  const parsed = parseDigest(digest);
  if (parsed.algorithm !== 'sha256') throw new Error(`${what} ${digest}: only sha256 blobs can be saved`);
  return parsed.encoded;
}

function blobPath(digest: string): string {
  return `blobs/sha256/${blobHex(digest, 'blob')}`;
}

function mergeImages(images: ArchiveImageToWrite[]): PlannedImage[] {
  const byId = new Map<string, PlannedImage>();
  for (const image of images) {
    let planned = byId.get(image.id);
    if (!planned) {
      planned = { source: image, tags: [] };
      byId.set(image.id, planned);
    }
    for (const tag of image.repoTags) {
      const ref = withDefaultTag(parseReference(tag));
      if (ref.digest !== undefined) throw new Error(`cannot save ${tag} as a tag: it names a digest`);
      if (!planned.tags.some((t) => formatReference(t) === formatReference(ref))) planned.tags.push(ref);
    }
  }
  return [...byId.values()];
}

function planArchive(images: ArchiveImageToWrite[]): ArchivePlan {
  const planned = mergeImages(images);
  const sizes = new Map<string, number>();
  const addBlob = (digest: string, size: number, what: string): void => {
    blobHex(digest, what);
    const known = sizes.get(digest);
    if (known !== undefined && known !== size) throw new Error(`${what} ${digest} is given as ${known} and ${size} bytes`);
    sizes.set(digest, size);
  };

  const manifestJson: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const indexManifests: Array<Record<string, unknown>> = [];
  const repositories = new Map<string, Map<string, string>>();

  for (const { source, tags } of planned) {
    addBlob(source.config.digest, source.config.size, 'config');
    addBlob(source.manifest.digest, source.manifest.size, 'manifest');
    for (const layer of source.layers) addBlob(layer.digest, layer.size, 'layer');

    manifestJson.push({
      Config: blobPath(source.config.digest),
      RepoTags: tags.length > 0 ? tags.map((t) => familiarString(t)) : null,
      Layers: source.layers.map((l) => blobPath(l.digest)),
    });

    const descriptor = { mediaType: source.manifest.mediaType, digest: source.manifest.digest, size: source.manifest.size };
    if (tags.length === 0) indexManifests.push(descriptor);
    for (const tag of tags) {
      indexManifests.push({
        ...descriptor,
        annotations: { [ANNOTATION_IMAGE_NAME]: formatReference(tag), [ANNOTATION_REF_NAME]: tag.tag },
      });
      // dockerd maps each tag to its top layer's file; an image without layers has none to name.
      const top = source.layers[source.layers.length - 1];
      if (top) {
        const repo = familiarName(tag.name);
        if (!repositories.has(repo)) repositories.set(repo, new Map());
        repositories.get(repo)?.set(tag.tag ?? 'latest', blobHex(top.digest, 'layer'));
      }
    }
  }

  const metadata: ArchivePlan['metadata'] = [
    {
      name: 'index.json',
      content: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: indexManifests })),
    },
    { name: 'manifest.json', content: Buffer.from(`${JSON.stringify(manifestJson)}\n`) },
    { name: 'oci-layout', content: Buffer.from(OCI_LAYOUT) },
  ];
  if (repositories.size > 0) {
    // Sorted keys, as Go encodes maps.
    const sorted = Object.fromEntries(
      [...repositories.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([repo, tagsOf]) => [repo, Object.fromEntries([...tagsOf.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))]),
    );
    metadata.push({ name: 'repositories', content: Buffer.from(`${JSON.stringify(sorted)}\n`) });
  }

  const blobs = [...sizes.entries()]
    .map(([digest, size]) => ({ digest, hex: blobHex(digest, 'blob'), size }))
    .sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0));
  return { blobs, metadata };
}

async function* blobBytes(blob: ArchivePlan['blobs'][number], openBlob: OpenBlob): AsyncGenerator<Buffer> {
  const stream = await openBlob(blob.digest);
  const hash = createHash('sha256');
  let written = 0;
  try {
    for await (const raw of stream) {
      const chunk: Buffer = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer);
      written += chunk.length;
      // A blob longer than its size would corrupt the tar: stop before writing the excess.
      if (written > blob.size) throw new Error(`blob ${blob.digest} is longer than its recorded size of ${blob.size} bytes`);
      hash.update(chunk);
      yield chunk;
    }
  } finally {
    stream.destroy();
  }
  if (written !== blob.size) throw new Error(`blob ${blob.digest} ended after ${written} of ${blob.size} bytes`);
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== blob.digest) throw new Error(`blob ${blob.digest} is corrupt in the store: its content has digest ${actual}`);
}

async function* archiveBytes(plan: ArchivePlan, openBlob: OpenBlob): AsyncGenerator<Buffer> {
  yield encodeTarHeader({ name: 'blobs', type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtime: FIXED_MTIME });
  yield encodeTarHeader({ name: 'blobs/sha256', type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtime: FIXED_MTIME });
  for (const blob of plan.blobs) {
    yield encodeTarHeader({ name: `blobs/sha256/${blob.hex}`, type: 'file', size: blob.size, mode: 0o644, uid: 0, gid: 0, mtime: FIXED_MTIME });
    yield* blobBytes(blob, openBlob);
    yield tarPadding(blob.size);
  }
  for (const file of plan.metadata) {
    yield encodeTarHeader({ name: file.name, type: 'file', size: file.content.length, mode: 0o644, uid: 0, gid: 0, mtime: FIXED_MTIME });
    yield file.content;
    yield tarPadding(file.content.length);
  }
  yield END_OF_ARCHIVE;
}

/**
 * Streams what Docker >= 25 `docker save` writes: an OCI layout (`blobs/sha256/…`, `index.json`,
 * `oci-layout`) plus the docker-archive `manifest.json` and `repositories`. Blobs are piped one
 * after another from `openBlob`, each once, and verified against their digests on the way.
 * Invalid input (a bad tag or digest) throws at once; store failures error the stream.
 */
export function writeImageArchive(images: ArchiveImageToWrite[], openBlob: OpenBlob): Readable {
  const plan = planArchive(images);
  return Readable.from(archiveBytes(plan, openBlob), { objectMode: false });
}
