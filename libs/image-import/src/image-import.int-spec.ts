import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppConfig, loadConfig } from '@cargohold/config';
import { openDatabase } from '@cargohold/db';
import { ImageCatalogService, ImageCommitService, ImageReferencesRepository } from '@cargohold/image-store';
import { hostPlatform, type ImageConfig, MediaType, parseImageConfig } from '@cargohold/oci';
import { PermanentJobError } from '@cargohold/queue';
import { type BlobDigest, FilesystemBlobStore } from '@cargohold/storage';
import { createTestSqliteFile, recordingJobContext } from '@cargohold/testing';
import { ImageImportService } from './image-import.service';
import type { ImportJob, ImportJobPayload } from './import.types';
import { importJobSchema } from './import.types';

interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device';
  content?: string;
  linkname?: string;
}

/** A root filesystem tar built in memory (small test data only). */
async function rootfsTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const header = { name: entry.name, type, linkname: entry.linkname, mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date('2024-01-01T00:00:00Z'), devmajor: 1, devminor: 3 };
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, Buffer.from(entry.content ?? ''), done);
      else pack.entry(header, done).end(undefined);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

const ROOTFS: TarEntry[] = [
  { name: 'bin/', type: 'directory' },
  { name: 'bin/busybox', content: '#!fake busybox\n'.repeat(100) },
  { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  { name: 'bin/ls', type: 'link', linkname: 'bin/busybox' },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
];

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}


async function readBlob(blobs: FilesystemBlobStore, digest: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.get(digest as BlobDigest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('ImageImportService (filesystem blobs, SQLite)', () => {
  let dataDir: string;
  let sqlite: ReturnType<typeof createTestSqliteFile>;
  let ds: DataSource;
  let blobs: FilesystemBlobStore;
  let config: AppConfig;
  let catalog: ImageCatalogService;
  let importer: ImageImportService;
  let server: http.Server;
  let baseUrl: string;
  const served = new Map<string, Buffer>();

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'cargohold-import-'));
    sqlite = createTestSqliteFile();
    ds = await openDatabase({ type: 'sqlite', file: sqlite.file });
    blobs = new FilesystemBlobStore(path.join(dataDir, 'blobs'));
    config = loadConfig({ CARGOHOLD_DATA_DIR: dataDir });
    const refs = new ImageReferencesRepository(ds);
    catalog = new ImageCatalogService(ds, refs);
    importer = new ImageImportService(blobs, config, new ImageCommitService(ds, refs, blobs));

    server = http.createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/rootfs.tar' }).end();
      } else if (body) {
        res.writeHead(200, { 'content-length': body.length }).end(body);
      } else {
        res.writeHead(404).end('no such file\n');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await ds?.destroy();
    sqlite?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Stages `body` as the gateway does for `fromSrc=-` and returns the job for it. */
  async function stagedJob(body: Buffer, rest: Omit<ImportJobPayload, 'sourceKey' | 'sourceUrl'> = {}): Promise<ImportJob> {
    const sourceKey = `import-${randomUUID()}`;
    await blobs.stage(sourceKey, Readable.from([body]));
    return importJobSchema.parse({ ...rest, sourceKey });
  }

  async function storedConfig(id: string): Promise<ImageConfig> {
    return parseImageConfig(await readBlob(blobs, id));
  }

  async function imageCount(): Promise<number> {
    return (await catalog.list({ all: true })).length;
  }

  async function stagedKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const staged of blobs.listStaged()) keys.push(staged.key);
    return keys;
  }

  async function refusal(job: ImportJob): Promise<PermanentJobError> {
    const err = await importer.import(job, recordingJobContext()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PermanentJobError);
    return err as PermanentJobError;
  }

  it('imports a plain rootfs tar as one uncompressed OCI layer, as dockerd records it', async () => {
    const layer = await rootfsTar(ROOTFS);
    const job = await stagedJob(layer, { repo: 'imported' });
    const ctx = recordingJobContext();
    const before = Date.now();
    const result = await importer.import(job, ctx);

    expect(result).toEqual({ id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), tag: 'imported:latest' });
    expect(ctx.events).toEqual([]); // stdin imports report nothing but the result
    const image = await storedConfig(result.id);
    const host = hostPlatform();
    expect(image).toMatchObject({
      architecture: host.architecture,
      os: host.os,
      comment: 'Imported from -',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
    });
    expect(image.history).toEqual([{ created: image.created, comment: 'Imported from -' }]);
    expect(Date.parse(image.created ?? '')).toBeGreaterThanOrEqual(before - 1);

    // The layer is stored byte for byte, and the manifest names it with the plain tar type.
    expect(await readBlob(blobs, sha256(layer))).toEqual(layer);
    const inspect = await catalog.inspect('imported');
    expect(inspect).toMatchObject({ Id: result.id, RepoTags: ['imported:latest'], RepoDigests: [], Comment: 'Imported from -' });
    expect(inspect.RootFS.Layers).toEqual([sha256(layer)]);
    const entity = await catalog.resolve('imported:latest');
    const manifest = JSON.parse((await readBlob(blobs, entity.manifestDigest)).toString('utf8')) as { mediaType: string; config: { digest: string }; layers: Array<{ mediaType: string; digest: string; size: number }> };
    expect(manifest.mediaType).toBe(MediaType.OciManifest);
    expect(manifest.config.digest).toBe(result.id);
    expect(manifest.layers).toEqual([{ mediaType: MediaType.OciLayer, digest: sha256(layer), size: layer.length }]);
    // The staged upload is gone.
    expect(await stagedKeys()).not.toContain(job.sourceKey);
  });

  it('keeps a gzip rootfs compressed: blob as sent, diffID of the tar inside', async () => {
    const tarBytes = await rootfsTar([...ROOTFS, { name: 'etc/hostname', content: 'gzipped\n' }]);
    const gz = gzipSync(tarBytes);
    const result = await importer.import(await stagedJob(gz, { repo: 'imported/gz', tag: 'v1' }), recordingJobContext());

    expect(result.tag).toBe('imported/gz:v1');
    const image = await storedConfig(result.id);
    expect(image.rootfs.diff_ids).toEqual([sha256(tarBytes)]);
    expect(await readBlob(blobs, sha256(gz))).toEqual(gz);
    const manifestDigest = (await catalog.resolve('imported/gz:v1')).manifestDigest;
    const manifest = JSON.parse((await readBlob(blobs, manifestDigest)).toString('utf8')) as { layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.layers).toEqual([expect.objectContaining({ mediaType: MediaType.OciLayerGzip, digest: sha256(gz) })]);
  });

  it('applies --change instructions and --message to the config and history', async () => {
    const job = await stagedJob(await rootfsTar(ROOTFS), {
      repo: 'docker.io/acme/app:1.0',
      message: 'base from tarball',
      changes: ['ENV PATH=/usr/bin:/bin APP=demo', 'CMD ["/bin/sh"]', 'ENTRYPOINT ["/bin/busybox"]', 'EXPOSE 80 53/udp', 'WORKDIR /srv', 'WORKDIR app', 'USER 1000', 'VOLUME /data', 'LABEL org.example=yes', 'STOPSIGNAL SIGINT', 'ONBUILD RUN echo hi'],
    });
    const result = await importer.import(job, recordingJobContext());

    expect(result.tag).toBe('acme/app:1.0');
    const image = await storedConfig(result.id);
    expect(image.config).toEqual({
      Env: ['PATH=/usr/bin:/bin', 'APP=demo'],
      Cmd: ['/bin/sh'],
      Entrypoint: ['/bin/busybox'],
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      WorkingDir: '/srv/app',
      User: '1000',
      Volumes: { '/data': {} },
      Labels: { 'org.example': 'yes' },
      StopSignal: 'SIGINT',
      OnBuild: ['RUN echo hi'],
    });
    expect(image.comment).toBe('base from tarball');
    expect(image.history?.[0].comment).toBe('base from tarball');
    expect((await catalog.inspect('acme/app:1.0')).Config).toMatchObject({ Cmd: ['/bin/sh'], Labels: { 'org.example': 'yes' } });
  });

  it('declares the requested platform', async () => {
    const arm = await importer.import(await stagedJob(await rootfsTar(ROOTFS), { platform: 'linux/arm64' }), recordingJobContext());
    expect(await storedConfig(arm.id)).toMatchObject({ os: 'linux', architecture: 'arm64' });
    expect((await storedConfig(arm.id)).variant).toBeUndefined();
    const armv6 = await importer.import(await stagedJob(await rootfsTar(ROOTFS), { platform: 'linux/arm/v6' }), recordingJobContext());
    expect(await storedConfig(armv6.id)).toMatchObject({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(arm.tag).toBeUndefined();
  });

  it('gives a retried job (same creation time) the same image, and moves a reused tag', async () => {
    const layer = await rootfsTar(ROOTFS);
    const created = '2025-03-04T05:06:07.123456789Z';
    const first = await importer.import(await stagedJob(layer, { repo: 'again', created }), recordingJobContext());
    const before = await imageCount();
    const retry = await importer.import(await stagedJob(layer, { repo: 'again', created }), recordingJobContext());
    expect(retry.id).toBe(first.id);
    expect(await imageCount()).toBe(before);
    expect((await storedConfig(first.id)).created).toBe(created);

    const newer = await importer.import(await stagedJob(layer, { repo: 'again', message: 'newer' }), recordingJobContext());
    expect(newer.id).not.toBe(first.id);
    expect((await catalog.resolve('again')).id).toBe(newer.id);
  });

  it('imports from a URL with dockerd\'s progress lines and comment', async () => {
    const layer = await rootfsTar(ROOTFS);
    served.set('/rootfs.tar', layer);
    const ctx = recordingJobContext();
    const result = await importer.import(importJobSchema.parse({ sourceUrl: `${baseUrl}/rootfs.tar`, repo: 'fromurl' }), ctx);

    const image = await storedConfig(result.id);
    expect(image.comment).toBe(`Imported from ${baseUrl}/rootfs.tar`);
    expect(image.rootfs.diff_ids).toEqual([sha256(layer)]);
    expect(ctx.events[0]).toEqual({ status: `Downloading from ${baseUrl}/rootfs.tar` });
    expect(ctx.events.at(-1)).toEqual({ status: 'Importing', progressDetail: { current: layer.length, total: layer.length } });
    expect(ctx.events.slice(1).every((e) => e.status === 'Importing')).toBe(true);
  });

  it('takes a URL without a scheme as http, follows redirects, keeps what the user typed in the comment', async () => {
    served.set('/rootfs.tar', await rootfsTar(ROOTFS));
    const typed = `${baseUrl.slice('http://'.length)}/moved`;
    const ctx = recordingJobContext();
    const result = await importer.import(importJobSchema.parse({ sourceUrl: typed }), ctx);
    expect((await storedConfig(result.id)).comment).toBe(`Imported from ${typed}`);
    expect(ctx.events[0]).toEqual({ status: `Downloading from http://${typed}` });
  });

  it('refuses a URL the server does not have, or a scheme other than http(s)', async () => {
    const missing = await refusal(importJobSchema.parse({ sourceUrl: `${baseUrl}/nope.tar` }));
    expect(missing.message).toBe(`failed to GET ${baseUrl}/nope.tar with status 404 Not Found: no such file`);
    const ftp = await refusal(importJobSchema.parse({ sourceUrl: 'ftp://127.0.0.1/rootfs.tar' }));
    expect(ftp.message).toBe('Get "ftp://127.0.0.1/rootfs.tar": unsupported protocol scheme "ftp"');
  });

  describe('hostile or invalid input: refused, nothing committed, upload removed', () => {
    async function expectRefused(body: Buffer, message: RegExp, rest: Omit<ImportJobPayload, 'sourceKey' | 'sourceUrl'> = {}): Promise<void> {
      const images = await imageCount();
      const job = await stagedJob(body, { repo: 'hostile', ...rest });
      const err = await refusal(job);
      expect(err.message).toMatch(message);
      expect(await imageCount()).toBe(images);
      await expect(catalog.resolve('hostile')).rejects.toThrow('No such image: hostile:latest');
      expect(await blobs.stat(sha256(body) as BlobDigest)).toBeNull();
      expect(await stagedKeys()).not.toContain(job.sourceKey);
    }

    it('a path escaping the root', async () => {
      await expectRefused(await rootfsTar([{ name: 'etc/', type: 'directory' }, { name: '../evil', content: 'x' }]), /layer entry "\.\.\/evil"/);
    });

    it('a path escaping the root, gzip-compressed', async () => {
      await expectRefused(gzipSync(await rootfsTar([{ name: 'a/../../../evil', content: 'x' }])), /layer entry "a\/\.\.\/\.\.\/\.\.\/evil"/);
    });

    it('a write through a symlink that leaves the root', async () => {
      await expectRefused(
        await rootfsTar([
          { name: 'escape', type: 'symlink', linkname: '../../../../etc' },
          { name: 'escape/cron.d/evil', content: '* * * * * root sh\n' },
        ]),
        /runs through "escape", a symlink/,
      );
    });

    it('a hardlink to a file outside the layer', async () => {
      await expectRefused(await rootfsTar([{ name: 'shadow', type: 'link', linkname: '../../etc/shadow' }]), /hardlink "shadow" points at "\.\.\/\.\.\/etc\/shadow"/);
    });

    it('a device node', async () => {
      await expectRefused(await rootfsTar([{ name: 'dev/', type: 'directory' }, { name: 'dev/mem', type: 'character-device' }]), /layer entry "dev\/mem" is a character-device; device nodes are refused/);
    });

    it('something that is not a tar', async () => {
      await expectRefused(Buffer.from('this is not a tar archive, just text that goes on and on '.repeat(20)), /^layer is not a tar archive \(plain or gzip-compressed\)/);
    });

    it('a change dockerd does not allow', async () => {
      const unique = await rootfsTar([...ROOTFS, { name: 'etc/unique', content: randomUUID() }]);
      await expectRefused(unique, /^RUN is not a valid change command$/, { changes: ['RUN rm -rf /'] });
    });

    it('a bad repository name', async () => {
      const images = await imageCount();
      const job = await stagedJob(await rootfsTar(ROOTFS), { repo: 'not a name' });
      expect((await refusal(job)).message).toBe('invalid reference format');
      expect(await imageCount()).toBe(images);
      expect(await stagedKeys()).not.toContain(job.sourceKey);
    });

    it('a source over the size limit', async () => {
      const small = new ImageImportService(blobs, { ...config, loadMaxBytes: 4096 }, new ImageCommitService(ds, new ImageReferencesRepository(ds), blobs));
      const body = await rootfsTar([{ name: 'big', content: 'y'.repeat(20_000) }]);
      const job = await stagedJob(body, { repo: 'hostile' });
      const err = await small.import(job, recordingJobContext()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentJobError);
      expect((err as Error).message).toMatch(/larger than/);
      expect(await blobs.stat(sha256(body) as BlobDigest)).toBeNull();
      await expect(catalog.resolve('hostile')).rejects.toThrow('No such image');
    });
  });
});
