import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import type { ArchiveBlobSink } from '../archive-reader';

/** One tar member for a hand-built archive. */
export interface FixtureEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: Buffer | string;
  linkname?: string;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Builds a tar in memory with tar-stream (test data only). */
export async function buildTar(entries: FixtureEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const done = readAll(pack as unknown as AsyncIterable<Buffer>);
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const header = { name: entry.name, type, linkname: entry.linkname, mtime: new Date(0), devmajor: 1, devminor: 3 };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, Buffer.from(entry.content ?? ''), cb);
      else pack.entry(header, cb).end(undefined);
    });
  }
  pack.finalize();
  return done;
}

export async function readAll(source: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** A stream of `data` in chunks of `chunkSize` bytes (small chunks exercise boundaries). */
export function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

export function gzip(data: Buffer): Buffer {
  return gzipSync(data);
}

/** A layer tar holding the given files. */
export function layerTar(files: Record<string, string>): Promise<Buffer> {
  return buildTar(Object.entries(files).map(([name, content]) => ({ name, content })));
}

/** An ArchiveBlobSink that keeps blobs in memory and checks expected digests, like the real store. */
export class MemorySink implements ArchiveBlobSink {
  readonly blobs = new Map<string, Buffer>();
  readonly paths: string[] = [];

  async putEntry(path: string, stream: Readable, size: number, expectedDigest?: string): Promise<{ digest: string; size: number }> {
    this.paths.push(path);
    const data = await readAll(stream);
    const digest = sha256(data);
    if (data.length !== size) throw new Error(`size mismatch for ${path}: ${data.length} != ${size}`);
    if (expectedDigest !== undefined && expectedDigest !== digest) {
      throw new Error(`digest mismatch: expected ${expectedDigest}, got ${digest}`);
    }
    this.blobs.set(digest, data);
    return { digest, size: data.length };
  }

  async open(digest: string): Promise<Readable> {
    const blob = this.blobs.get(digest);
    if (!blob) throw new Error(`blob unknown: ${digest}`);
    return streamOf(blob, 1000);
  }
}

/** An image made of the given layer blobs (tar or gzip), with a config and an OCI manifest. */
export interface FixtureImage {
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
  layers: Array<{ blob: Buffer; digest: string; diffId: string; mediaType: string }>;
}

export function fixtureImage(layerBlobs: Array<{ blob: Buffer; tar: Buffer }>, extra: Record<string, unknown> = {}): FixtureImage {
  const layers = layerBlobs.map(({ blob, tar: plain }) => ({
    blob,
    digest: sha256(blob),
    diffId: sha256(plain),
    mediaType: blob === plain ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.oci.image.layer.v1.tar+gzip',
  }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created_by: 'test' })),
      ...extra,
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
    }),
  );
  return { config, configDigest: sha256(config), manifest, manifestDigest: sha256(manifest), layers };
}
