import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { writeImageArchive } from './archive-writer';
import type { ArchiveImageToWrite } from './archive-writer';
import { MediaType } from './media-types';
import { buildTar, fixtureImage, gzip, readAll, sha256, streamOf } from './testing/tar-fixtures';
import type { FixtureImage } from './testing/tar-fixtures';

interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  mtime: number;
  data: Buffer;
}

async function untar(archive: Buffer): Promise<ReadEntry[]> {
  const extract = tar.extract();
  const entries: ReadEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const data = await readAll(entry as AsyncIterable<Buffer>);
      entries.push({ name: entry.header.name, type: entry.header.type, mode: entry.header.mode, mtime: entry.header.mtime.getTime(), data });
    }
  })();
  extract.end(archive);
  await done;
  return entries;
}

function toWrite(image: FixtureImage, repoTags: string[]): ArchiveImageToWrite {
  return {
    id: image.configDigest,
    config: { digest: image.configDigest, size: image.config.length },
    manifest: { digest: image.manifestDigest, mediaType: MediaType.OciManifest, size: image.manifest.length },
    layers: image.layers.map((l) => ({ digest: l.digest, size: l.blob.length, mediaType: l.mediaType })),
    repoTags,
  };
}

function storeOf(images: FixtureImage[], chunkSize = 777): { open: (digest: string) => Promise<Readable>; opened: string[] } {
  const blobs = new Map<string, Buffer>();
  for (const image of images) {
    blobs.set(image.configDigest, image.config);
    blobs.set(image.manifestDigest, image.manifest);
    for (const layer of image.layers) blobs.set(layer.digest, layer.blob);
  }
  const opened: string[] = [];
  return {
    opened,
    open: async (digest: string) => {
      opened.push(digest);
      const blob = blobs.get(digest);
      if (!blob) throw new Error(`blob unknown: ${digest}`);
      return streamOf(blob, chunkSize);
    },
  };
}

async function twoImages(): Promise<{ base: FixtureImage; app: FixtureImage }> {
  const baseTar = await buildTar([{ name: 'bin/sh', content: 'shell' }]);
  const appTar = await buildTar([{ name: 'app/run', content: 'app' }]);
  const shared = { blob: gzip(baseTar), tar: baseTar };
  const base = fixtureImage([shared]);
  const app = fixtureImage([shared, { blob: appTar, tar: appTar }], { author: 'app' });
  return { base, app };
}

describe('writeImageArchive', () => {
  it('writes the Docker >= 25 save layout, each blob once, in a fixed order', async () => {
    const { base, app } = await twoImages();
    const store = storeOf([base, app]);
    const archive = await readAll(
      writeImageArchive([toWrite(base, ['busybox:latest', 'busybox:1.36']), toWrite(app, ['127.0.0.1:5000/app:v1'])], store.open),
    );
    const entries = await untar(archive);
    const blobDigests = [...new Set([base.configDigest, base.manifestDigest, app.configDigest, app.manifestDigest, ...app.layers.map((l) => l.digest)])];
    const blobNames = blobDigests.map((d) => `blobs/sha256/${d.slice(7)}`).sort();
    expect(entries.map((e) => e.name)).toEqual(['blobs/', 'blobs/sha256/', ...blobNames, 'index.json', 'manifest.json', 'oci-layout', 'repositories']);
    expect(store.opened.sort()).toEqual([...blobDigests].sort());
    expect(entries.every((e) => e.mtime === 0)).toBe(true);
    expect(entries[0]).toMatchObject({ type: 'directory', mode: 0o755 });
    expect(entries[2]).toMatchObject({ type: 'file', mode: 0o644 });
    for (const entry of entries.filter((e) => e.name.startsWith('blobs/sha256/') && e.type === 'file')) {
      expect(sha256(entry.data)).toBe(`sha256:${entry.name.slice('blobs/sha256/'.length)}`);
    }

    const file = (name: string): string => entries.find((e) => e.name === name)!.data.toString();
    expect(file('oci-layout')).toBe('{"imageLayoutVersion": "1.0.0"}');
    expect(JSON.parse(file('manifest.json'))).toEqual([
      {
        Config: `blobs/sha256/${base.configDigest.slice(7)}`,
        RepoTags: ['busybox:latest', 'busybox:1.36'],
        Layers: [`blobs/sha256/${base.layers[0].digest.slice(7)}`],
      },
      {
        Config: `blobs/sha256/${app.configDigest.slice(7)}`,
        RepoTags: ['127.0.0.1:5000/app:v1'],
        Layers: app.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      },
    ]);
    expect(file('manifest.json').endsWith('\n')).toBe(true);
    const index = JSON.parse(file('index.json'));
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(MediaType.OciIndex);
    expect(index.manifests).toEqual([
      {
        mediaType: MediaType.OciManifest,
        digest: base.manifestDigest,
        size: base.manifest.length,
        annotations: { 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' },
      },
      {
        mediaType: MediaType.OciManifest,
        digest: base.manifestDigest,
        size: base.manifest.length,
        annotations: { 'io.containerd.image.name': 'docker.io/library/busybox:1.36', 'org.opencontainers.image.ref.name': '1.36' },
      },
      {
        mediaType: MediaType.OciManifest,
        digest: app.manifestDigest,
        size: app.manifest.length,
        annotations: { 'io.containerd.image.name': '127.0.0.1:5000/app:v1', 'org.opencontainers.image.ref.name': 'v1' },
      },
    ]);
    expect(file('repositories')).toBe(
      `${JSON.stringify({
        '127.0.0.1:5000/app': { v1: app.layers[1].digest.slice(7) },
        busybox: { '1.36': base.layers[0].digest.slice(7), latest: base.layers[0].digest.slice(7) },
      })}\n`,
    );
  });

  it('gives identical bytes for the same images, whatever the store chunking', async () => {
    const { base, app } = await twoImages();
    const images = [toWrite(base, ['busybox']), toWrite(app, ['app:1'])];
    const first = await readAll(writeImageArchive(images, storeOf([base, app], 13).open));
    const second = await readAll(writeImageArchive(images, storeOf([base, app], 65536).open));
    expect(first.equals(second)).toBe(true);
    expect(first.length % 512).toBe(0);
  });

  it('merges an image given twice and lists untagged images without annotations', async () => {
    const { base, app } = await twoImages();
    const archive = await readAll(
      writeImageArchive([toWrite(base, ['a:1']), toWrite(app, []), toWrite(base, ['a:2', 'a:1'])], storeOf([base, app]).open),
    );
    const entries = await untar(archive);
    const manifestJson = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString());
    expect(manifestJson.map((m: { RepoTags: unknown }) => m.RepoTags)).toEqual([['a:1', 'a:2'], null]);
    const index = JSON.parse(entries.find((e) => e.name === 'index.json')!.data.toString());
    expect(index.manifests).toHaveLength(3);
    expect(index.manifests[2]).toEqual({ mediaType: MediaType.OciManifest, digest: app.manifestDigest, size: app.manifest.length });
  });

  it('refuses bad input at once', async () => {
    const { base } = await twoImages();
    const open = storeOf([base]).open;
    expect(() => writeImageArchive([toWrite(base, ['Bad:tag'])], open)).toThrow(/must be lowercase/);
    expect(() => writeImageArchive([toWrite(base, [`a@sha256:${'0'.repeat(64)}`])], open)).toThrow(/names a digest/);
    expect(() => writeImageArchive([{ ...toWrite(base, []), config: { digest: 'sha256:nope', size: 1 } }], open)).toThrow(
      /invalid checksum digest length/,
    );
  });

  it('errors the stream when the store returns the wrong bytes', async () => {
    const { base } = await twoImages();
    const layer = base.layers[0];
    const swapped = async (digest: string): Promise<Readable> =>
      digest === layer.digest ? streamOf(Buffer.concat([layer.blob, Buffer.from('x')])) : storeOf([base]).open(digest);
    await expect(readAll(writeImageArchive([toWrite(base, [])], swapped))).rejects.toThrow(/longer than its recorded size/);
    const short = async (digest: string): Promise<Readable> =>
      digest === layer.digest ? streamOf(layer.blob.subarray(1)) : storeOf([base]).open(digest);
    await expect(readAll(writeImageArchive([toWrite(base, [])], short))).rejects.toThrow(/ended after/);
    const corrupt = async (digest: string): Promise<Readable> =>
      digest === layer.digest ? streamOf(Buffer.alloc(layer.blob.length)) : storeOf([base]).open(digest);
    await expect(readAll(writeImageArchive([toWrite(base, [])], corrupt))).rejects.toThrow(/is corrupt in the store/);
    const missing = async (): Promise<Readable> => {
      throw new Error('blob unknown');
    };
    await expect(readAll(writeImageArchive([toWrite(base, [])], missing))).rejects.toThrow('blob unknown');
  });

  it('closes the blob it is reading when the consumer goes away', async () => {
    const { base } = await twoImages();
    const big = Buffer.alloc(4 * 1024 * 1024, 1);
    const bigDigest = sha256(big);
    const source = streamOf(big, 1024);
    const image: ArchiveImageToWrite = { ...toWrite(base, []), layers: [{ digest: bigDigest, size: big.length, mediaType: MediaType.OciLayer }] };
    const out = writeImageArchive([image], async (digest) => (digest === bigDigest ? source : storeOf([base]).open(digest)));
    for await (const _chunk of out) {
      if (source.readableDidRead) break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.destroyed).toBe(true);
  });
});
