import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ArchiveError, UnsafeArchiveError } from './archive-errors';
import { readImageArchive } from './archive-reader';
import type { ArchiveBlobSink, ArchiveContents, ArchiveReaderLimits } from './archive-reader';
import { writeImageArchive } from './archive-writer';
import type { ArchiveImageToWrite } from './archive-writer';
import { MediaType } from './media-types';
import { buildTar, fixtureImage, gzip, MemorySink, readAll, sha256, streamOf } from './testing/tar-fixtures';
import type { FixtureEntry, FixtureImage } from './testing/tar-fixtures';

function toWrite(image: FixtureImage, repoTags: string[]): ArchiveImageToWrite {
  return {
    id: image.configDigest,
    config: { digest: image.configDigest, size: image.config.length },
    manifest: { digest: image.manifestDigest, mediaType: MediaType.OciManifest, size: image.manifest.length },
    layers: image.layers.map((l) => ({ digest: l.digest, size: l.blob.length, mediaType: l.mediaType })),
    repoTags,
  };
}

function blobEntries(images: FixtureImage[]): FixtureEntry[] {
  const blobs = new Map<string, Buffer>();
  for (const image of images) {
    blobs.set(image.configDigest, image.config);
    blobs.set(image.manifestDigest, image.manifest);
    for (const layer of image.layers) blobs.set(layer.digest, layer.blob);
  }
  return [...blobs.entries()].map(([digest, content]) => ({ name: `blobs/sha256/${digest.slice(7)}`, content }));
}

async function saved(images: Array<[FixtureImage, string[]]>): Promise<Buffer> {
  const sink = new MemorySink();
  for (const entry of blobEntries(images.map(([image]) => image))) {
    await sink.putEntry(entry.name, streamOf(Buffer.from(entry.content ?? '')), Buffer.from(entry.content ?? '').length);
  }
  return readAll(writeImageArchive(images.map(([image, tags]) => toWrite(image, tags)), (d) => sink.open(d)));
}

async function fixtures(): Promise<{ base: FixtureImage; app: FixtureImage; baseTar: Buffer; appTar: Buffer }> {
  const baseTar = await buildTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: 'busybox binary' },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  ]);
  const appTar = await buildTar([{ name: 'app/run', content: 'echo hi' }]);
  const base = fixtureImage([{ blob: gzip(baseTar), tar: baseTar }]);
  const app = fixtureImage([{ blob: gzip(baseTar), tar: baseTar }, { blob: appTar, tar: appTar }], { author: 'me' });
  return { base, app, baseTar, appTar };
}

async function read(archive: Buffer, limits?: ArchiveReaderLimits, sink: ArchiveBlobSink = new MemorySink()): Promise<ArchiveContents> {
  return readImageArchive(streamOf(archive, 1000), sink, limits);
}

async function refusal(archive: Buffer, limits?: ArchiveReaderLimits, sink?: ArchiveBlobSink): Promise<Error> {
  try {
    await read(archive, limits, sink);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the archive to be refused');
}

describe('readImageArchive: round trips with writeImageArchive', () => {
  it('reads back images, shared layers, tags and manifests byte for byte', async () => {
    const { base, app, baseTar, appTar } = await fixtures();
    const archive = await saved([
      [base, ['busybox:latest', 'busybox:1.36']],
      [app, ['127.0.0.1:5000/app:v1']],
    ]);
    const sink = new MemorySink();
    const contents = await read(archive, undefined, sink);
    expect(contents.format).toBe('oci-layout');
    expect(contents.images).toHaveLength(2);
    const [b, a] = contents.images;
    expect(b.repoTags).toEqual(['busybox:latest', 'busybox:1.36']);
    expect(a.repoTags).toEqual(['127.0.0.1:5000/app:v1']);
    expect(b.config).toEqual({ digest: base.configDigest, bytes: base.config });
    expect(a.manifest).toEqual({ digest: app.manifestDigest, mediaType: MediaType.OciManifest, bytes: app.manifest });
    expect(a.layers).toEqual([
      { digest: app.layers[0].digest, size: app.layers[0].blob.length, mediaType: MediaType.OciLayerGzip, diffId: sha256(baseTar), contentSize: 14 },
      { digest: app.layers[1].digest, size: appTar.length, mediaType: MediaType.OciLayer, diffId: sha256(appTar), contentSize: 7 },
    ]);
    expect(b.layers[0].digest).toBe(a.layers[0].digest);
    // Every blob reached the sink once; the layout's own files did not.
    expect(sink.paths.filter((p) => p === `blobs/sha256/${a.layers[0].digest.slice(7)}`)).toHaveLength(1);
    expect(sink.paths.some((p) => ['manifest.json', 'index.json', 'oci-layout', 'repositories'].includes(p))).toBe(false);
    expect(sink.blobs.get(app.manifestDigest)?.equals(app.manifest)).toBe(true);
    expect(sink.blobs.get(a.layers[1].digest)?.equals(appTar)).toBe(true);
  });

  it('reads a gzip-compressed archive', async () => {
    const { base } = await fixtures();
    const contents = await read(gzip(await saved([[base, ['busybox:latest']]])));
    expect(contents.images.map((i) => i.repoTags)).toEqual([['busybox:latest']]);
    expect(contents.images[0].config.digest).toBe(base.configDigest);
  });

  it('reads an untagged image', async () => {
    const { base } = await fixtures();
    const contents = await read(await saved([[base, []]]));
    expect(contents.images).toHaveLength(1);
    expect(contents.images[0].repoTags).toEqual([]);
  });

  it('reads an OCI layout without manifest.json, naming images from index.json', async () => {
    const { base, app } = await fixtures();
    const index = {
      schemaVersion: 2,
      manifests: [
        { mediaType: MediaType.OciManifest, digest: base.manifestDigest, size: base.manifest.length, annotations: { 'io.containerd.image.name': 'docker.io/library/busybox:1.36', 'org.opencontainers.image.ref.name': '1.36' } },
        { mediaType: MediaType.OciManifest, digest: base.manifestDigest, size: base.manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'example.com/base:2' } },
        { mediaType: MediaType.OciManifest, digest: app.manifestDigest, size: app.manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } },
      ],
    };
    // index.json first this time: the reader must not depend on the order.
    const archive = await buildTar([
      { name: 'index.json', content: JSON.stringify(index) },
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'blobs/', type: 'directory' },
      ...blobEntries([base, app]),
    ]);
    const contents = await read(archive);
    expect(contents.format).toBe('oci-layout');
    expect(contents.images.map((i) => [i.config.digest, i.repoTags])).toEqual([
      [base.configDigest, ['busybox:1.36', 'example.com/base:2']],
      [app.configDigest, []],
    ]);
    expect(contents.images[1].manifest?.bytes.equals(app.manifest)).toBe(true);
  });

  it('follows a nested index, skipping platforms that were not exported', async () => {
    const { base } = await fixtures();
    const missing = `sha256:${'9'.repeat(64)}`;
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          { mediaType: MediaType.OciManifest, digest: base.manifestDigest, size: base.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: MediaType.OciManifest, digest: missing, size: 10, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
    );
    const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: MediaType.OciIndex, digest: sha256(nested), size: nested.length, annotations: { 'io.containerd.image.name': 'docker.io/library/multi:1' } }] };
    const archive = await buildTar([
      ...blobEntries([base]),
      { name: `blobs/sha256/${sha256(nested).slice(7)}`, content: nested },
      { name: 'index.json', content: JSON.stringify(index) },
    ]);
    const contents = await read(archive);
    expect(contents.images.map((i) => [i.config.digest, i.repoTags])).toEqual([[base.configDigest, ['multi:1']]]);
  });
});

describe('readImageArchive: the legacy docker-archive', () => {
  async function legacyArchive(): Promise<{ archive: Buffer; base: FixtureImage; app: FixtureImage; baseTar: Buffer; appTar: Buffer }> {
    const { baseTar, appTar } = await fixtures();
    const base = fixtureImage([{ blob: baseTar, tar: baseTar }]);
    const app = fixtureImage([{ blob: baseTar, tar: baseTar }, { blob: appTar, tar: appTar }]);
    const id1 = 'a'.repeat(64);
    const id2 = 'b'.repeat(64);
    const id3 = 'c'.repeat(64);
    const manifest = [
      { Config: `${base.configDigest.slice(7)}.json`, RepoTags: ['busybox:latest'], Layers: [`${id1}/layer.tar`] },
      { Config: `${app.configDigest.slice(7)}.json`, RepoTags: ['app:1', 'app:latest'], Layers: [`${id2}/layer.tar`, `${id3}/layer.tar`] },
    ];
    const archive = await buildTar([
      { name: `${id1}/`, type: 'directory' },
      { name: `${id1}/VERSION`, content: '1.0' },
      { name: `${id1}/json`, content: '{"id":"x"}' },
      { name: `${id1}/layer.tar`, content: baseTar },
      { name: `${id2}/`, type: 'directory' },
      // docker save writes a layer shared by two v1 IDs once, linking the second to the first.
      { name: `${id2}/layer.tar`, type: 'symlink', linkname: `../${id1}/layer.tar` },
      { name: `${id3}/layer.tar`, content: appTar },
      { name: `${base.configDigest.slice(7)}.json`, content: base.config },
      { name: `${app.configDigest.slice(7)}.json`, content: app.config },
      { name: 'manifest.json', content: JSON.stringify(manifest) },
      { name: 'repositories', content: JSON.stringify({ busybox: { latest: id1 } }) },
    ]);
    return { archive, base, app, baseTar, appTar };
  }

  it('reads images, symlinked duplicate layers and tags', async () => {
    const { archive, base, app, baseTar, appTar } = await legacyArchive();
    const contents = await read(archive);
    expect(contents.format).toBe('docker-archive');
    expect(contents.images.map((i) => [i.config.digest, i.repoTags])).toEqual([
      [base.configDigest, ['busybox:latest']],
      [app.configDigest, ['app:1', 'app:latest']],
    ]);
    const layers = contents.images[1].layers;
    expect(layers.map((l) => [l.digest, l.diffId, l.mediaType])).toEqual([
      [sha256(baseTar), sha256(baseTar), MediaType.DockerLayer],
      [sha256(appTar), sha256(appTar), MediaType.DockerLayer],
    ]);
    expect(contents.images[0].manifest).toBeUndefined();
    expect(contents.images[0].config.bytes.equals(base.config)).toBe(true);
  });

  it('reads it gzip-compressed too', async () => {
    const { archive } = await legacyArchive();
    expect((await read(gzip(archive))).images).toHaveLength(2);
  });
});

describe('readImageArchive: refusals', () => {
  async function withManifest(extra: FixtureEntry[], manifest?: unknown): Promise<Buffer> {
    const { base } = await fixtures();
    return buildTar([
      ...blobEntries([base]),
      ...extra,
      {
        name: 'manifest.json',
        content: JSON.stringify(manifest !== undefined ? manifest : [{ Config: `blobs/sha256/${base.configDigest.slice(7)}`, RepoTags: ['x:1'], Layers: [`blobs/sha256/${base.layers[0].digest.slice(7)}`] }]),
      },
    ]);
  }

  async function expectRefusal(archive: Buffer, kind: typeof ArchiveError, pattern: RegExp, limits?: ArchiveReaderLimits): Promise<void> {
    const err = await refusal(archive, limits);
    expect(err).toBeInstanceOf(kind);
    expect(err.message).toMatch(pattern);
  }

  it('refuses a gzip archive that expands past the ratio limit (bomb)', async () => {
    const zeros = await withManifest([{ name: 'filler', content: Buffer.alloc(4 * 1024 * 1024) }]);
    await expectRefusal(gzip(zeros), UnsafeArchiveError, /image archive expands more than 50x .*decompression bomb/, {
      layer: { maxRatio: 50, ratioThreshold: 1024 * 1024 },
    });
    // The same bytes uncompressed are no bomb.
    await expect(read(zeros, { layer: { maxRatio: 50, ratioThreshold: 1024 * 1024 } })).resolves.toBeDefined();
  });

  it('refuses traversal paths', async () => {
    await expectRefusal(await withManifest([{ name: '../evil', content: 'x' }]), UnsafeArchiveError, /"\.\.\/evil" climbs out of the root/);
    await expectRefusal(await withManifest([{ name: '/etc/cron.d/evil', content: 'x' }]), UnsafeArchiveError, /"\/etc\/cron.d\/evil" is an absolute path/);
    const { base } = await fixtures();
    await expectRefusal(
      await withManifest([], [{ Config: '../../etc/passwd', RepoTags: [], Layers: [] }]),
      UnsafeArchiveError,
      /manifest.json references "..\/..\/etc\/passwd", which climbs out/,
    );
    expect(base).toBeDefined();
  });

  it('refuses symlinks that escape, dangle, or lead writes elsewhere', async () => {
    await expectRefusal(await withManifest([{ name: 'x', type: 'symlink', linkname: '../../etc/passwd' }]), UnsafeArchiveError, /"x" is a symlink to "..\/..\/etc\/passwd", outside the archive/);
    await expectRefusal(await withManifest([{ name: 'x', type: 'symlink', linkname: '/etc/passwd' }]), UnsafeArchiveError, /outside the archive/);
    await expectRefusal(await withManifest([{ name: 'd/x', type: 'symlink', linkname: '../nowhere' }]), ArchiveError, /"d\/x" is a symlink to "..\/nowhere", which is not in the archive/);
    await expectRefusal(
      await withManifest([
        { name: 'd', type: 'symlink', linkname: 'blobs' },
        { name: 'd/file', content: 'x' },
      ]),
      UnsafeArchiveError,
      /"d\/file" runs through "d", a symlink/,
    );
    await expectRefusal(
      await withManifest([
        { name: 'a', type: 'symlink', linkname: 'b' },
        { name: 'b', type: 'symlink', linkname: 'a' },
      ]),
      UnsafeArchiveError,
      /too many levels of symbolic links/,
    );
  });

  it('refuses devices and hardlinks that point nowhere', async () => {
    await expectRefusal(await withManifest([{ name: 'null', type: 'character-device' }]), UnsafeArchiveError, /"null" is a character-device; device nodes are refused/);
    await expectRefusal(await withManifest([{ name: 'sda', type: 'block-device' }]), UnsafeArchiveError, /"sda" is a block-device/);
    await expectRefusal(await withManifest([{ name: 'h', type: 'link', linkname: '../../etc/shadow' }]), UnsafeArchiveError, /"h" is a hardlink to "..\/..\/etc\/shadow", outside/);
    await expectRefusal(await withManifest([{ name: 'h', type: 'link', linkname: 'later' }]), ArchiveError, /"h" is a hardlink to "later", which is not a file earlier/);
    await expectRefusal(await withManifest([{ name: 'p', type: 'fifo' }]), ArchiveError, /"p" has an unsupported type \(fifo\)/);
  });

  it('refuses files manifest.json names but the archive lacks', async () => {
    const { base } = await fixtures();
    const archive = await withManifest([], [{ Config: `blobs/sha256/${base.configDigest.slice(7)}`, RepoTags: [], Layers: ['gone/layer.tar'] }]);
    await expectRefusal(archive, ArchiveError, /invalid archive: manifest.json references "gone\/layer.tar", which is not in the archive/);
    await expectRefusal(await buildTar([{ name: 'README', content: 'hi' }]), ArchiveError, /does not contain a manifest.json or an index.json/);
    await expectRefusal(await withManifest([], null), ArchiveError, /manifest cannot be null/);
    await expectRefusal(await withManifest([], [{ Config: 1 }]), ArchiveError, /manifest.json: \[0\]\.Config/);
  });

  it('refuses a layer that fails inspection, naming it', async () => {
    const hostileLayer = await buildTar([{ name: 'dev/mem', type: 'character-device' }]);
    const image = fixtureImage([{ blob: hostileLayer, tar: hostileLayer }]);
    const archive = await buildTar([
      ...blobEntries([image]),
      { name: 'manifest.json', content: JSON.stringify([{ Config: `blobs/sha256/${image.configDigest.slice(7)}`, RepoTags: [], Layers: [`blobs/sha256/${image.layers[0].digest.slice(7)}`] }]) },
    ]);
    const err = await refusal(archive);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect(err.message).toBe(`layer 0 ("blobs/sha256/${image.layers[0].digest.slice(7)}") cannot be used: layer entry "dev/mem" is a character-device; device nodes are refused`);
  });

  it('refuses a layer whose diffID is not the one its config lists', async () => {
    const { base, app } = await fixtures();
    const archive = await buildTar([
      ...blobEntries([base, app]),
      { name: 'manifest.json', content: JSON.stringify([{ Config: `blobs/sha256/${base.configDigest.slice(7)}`, RepoTags: [], Layers: [`blobs/sha256/${app.layers[1].digest.slice(7)}`] }]) },
    ]);
    await expectRefusal(archive, ArchiveError, /invalid diffID for layer 0 .*: expected "sha256:[0-9a-f]{64}", got "sha256:[0-9a-f]{64}"/);
    const tooMany = await buildTar([
      ...blobEntries([base, app]),
      { name: 'manifest.json', content: JSON.stringify([{ Config: `blobs/sha256/${base.configDigest.slice(7)}`, RepoTags: [], Layers: app.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) }]) },
    ]);
    await expectRefusal(tooMany, ArchiveError, /layers length mismatch: expected 2, got 1/);
  });

  it('refuses an OCI blob whose content does not match its name', async () => {
    const { base } = await fixtures();
    const wrongName = `blobs/sha256/${'0'.repeat(64)}`;
    const archive = await buildTar([{ name: wrongName, content: 'not what the name says' }, ...blobEntries([base])]);
    // A trusting sink: the reader checks on its own.
    const trusting: ArchiveBlobSink = {
      async putEntry(_path, stream) {
        const data = await readAll(stream);
        return { digest: sha256(data), size: data.length };
      },
    };
    const err = await refusal(archive, undefined, trusting);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.message).toMatch(new RegExp(`"${wrongName}" does not match its name: its content has digest sha256:`));
    // The real store refuses on its own; its error comes through as is.
    expect((await refusal(archive)).message).toMatch(/^digest mismatch/);
    await expectRefusal(await buildTar([{ name: 'blobs/sha256/xyz', content: 'x' }]), ArchiveError, /"blobs\/sha256\/xyz" is not named by a valid digest/);
  });

  it('refuses truncated archives, garbage and unsupported compression', async () => {
    const { base } = await fixtures();
    const archive = await saved([[base, ['busybox:latest']]]);
    await expectRefusal(archive.subarray(0, 1500), ArchiveError, /^image archive is truncated: the tar stream ended in the middle of an entry/);
    await expectRefusal(Buffer.alloc(4096, 'not a tar '), ArchiveError, /^image archive is not a tar archive \(plain or gzip-compressed\): archive\/tar: invalid tar header/);
    await expectRefusal(Buffer.from('{"hello": "world"}'), ArchiveError, /^image archive is not a tar archive \(plain or gzip-compressed\): it ended inside the first tar header$/);
    await expectRefusal(Buffer.from([0x42, 0x5a, 0x68, 0x39, 0, 0, 0]), ArchiveError, /^image archive is bzip2-compressed, which is not supported yet/);
    const gz = gzip(archive);
    await expectRefusal(gz.subarray(0, gz.length - 20), ArchiveError, /^image archive is not valid gzip data: unexpected end of file/);
    await expectRefusal(Buffer.alloc(0), ArchiveError, /does not contain a manifest.json or an index.json/);
  });

  it('refuses archives above the size limits, bombs included', async () => {
    const { base } = await fixtures();
    const archive = await saved([[base, ['busybox:latest']]]);
    await expectRefusal(archive, UnsafeArchiveError, /^image archive is larger than the limit of 2048 bytes/, { maxBytes: 2048 });
    const bomb = gzip(Buffer.concat([archive.subarray(0, archive.length - 1024), Buffer.alloc(32 * 1024 * 1024)]));
    expect(bomb.length).toBeLessThan(100_000);
    await expectRefusal(bomb, UnsafeArchiveError, /larger than the limit of 1048576 bytes/, { maxBytes: 1024 * 1024 });
    await expectRefusal(archive, UnsafeArchiveError, /more than 3 entries/, { maxEntries: 3 });
  });

  it('passes sink failures through and stops reading', async () => {
    const { base } = await fixtures();
    const archive = await saved([[base, ['busybox:latest']]]);
    const failing: ArchiveBlobSink = {
      async putEntry(_path, stream) {
        stream.resume();
        throw new Error('bucket unavailable');
      },
    };
    const source = streamOf(archive, 100);
    await expect(readImageArchive(source, failing)).rejects.toThrow('bucket unavailable');
    expect(source.destroyed).toBe(true);
  });

  it('propagates an error of the source stream', async () => {
    const source = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(readImageArchive(source, new MemorySink())).rejects.toThrow('connection reset');
  });
});
