import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveFormat, DockerCli, DockerdHandle, HostileArchiveKind, WrittenArchive } from '@cargohold/testing';
import {
  busyboxImage,
  busyboxRootfs,
  dockerCli,
  dockerdUnavailableReason,
  hostileArchive,
  largeImage,
  multiLayerImage,
  startDockerd,
  startSystem,
  writeDockerArchive,
} from '@cargohold/testing';

/**
 * Self-tests of the e2e harness, needing no cargohold: the fixture archives must be exactly what
 * Docker itself accepts (same image IDs in a real dockerd), readable by skopeo and umoci, and
 * the process helpers must start, report and reap what they run.
 */

interface ArchiveEntry {
  type: string;
  size: number;
  sha256: string;
  linkname: string | null;
  mtime: number;
  uid: number;
  gid: number;
}

/** Every entry of a tar (optionally gzipped) with the sha256 of its content (up to 256 MiB), streamed. */
async function readArchive(file: string, inner?: (name: string, bytes: Buffer) => void): Promise<Map<string, ArchiveEntry>> {
  const entries = new Map<string, ArchiveEntry>();
  const parser = extract();
  parser.on('entry', (header, stream, next) => {
    stream.on('error', () => undefined); // the parser fails too, and the pipeline reports it
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    const keep = inner !== undefined && header.size < 8 * 1024 * 1024;
    const hashing = header.size <= 256 * 1024 * 1024; // the bomb's gigabyte is only counted
    stream.on('data', (data) => {
      const chunk = data as Buffer;
      if (hashing) hash.update(chunk);
      if (keep) chunks.push(chunk);
    });
    stream.on('end', () => {
      entries.set(header.name, {
        type: header.type,
        size: header.size,
        sha256: hashing ? hash.digest('hex') : '',
        linkname: header.linkname ?? null,
        mtime: header.mtime.getTime(),
        uid: header.uid,
        gid: header.gid,
      });
      if (keep) inner(header.name, Buffer.concat(chunks));
      next();
    });
  });
  const source = createReadStream(file);
  if (file.endsWith('.gz')) await pipeline(source, createGunzip(), parser);
  else await pipeline(source, parser);
  return entries;
}

async function readLayer(bytes: Buffer): Promise<Map<string, ArchiveEntry>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'harness-layer-'));
  try {
    const file = path.join(dir, 'layer.tar');
    writeFileSync(file, bytes);
    return await readArchive(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** False once the process is gone or a zombie (this machine's init does not reap orphans). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

const hex = (digest: string): string => digest.replace(/^sha256:/, '');
const formats: ArchiveFormat[] = ['oci', 'docker-archive-legacy'];

describe('fixture archives (no daemon needed)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'harness-fixtures-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(formats)('%s archives are byte-for-byte deterministic', async (format) => {
    const images = () => [busyboxImage('harness/det:1'), multiLayerImage('harness/det:2', 2)];
    const a = await writeDockerArchive(path.join(dir, `a-${format}.tar`), images(), { format });
    const b = await writeDockerArchive(path.join(dir, `b-${format}.tar`), images(), { format });
    expect(sha256File(a.file)).toBe(sha256File(b.file));
    expect(a.images.map((i) => i.id)).toEqual(b.images.map((i) => i.id));
  });

  it('oci: every blob hashes to its name, manifests and config match, shared layers are written once', async () => {
    const written = await writeDockerArchive(
      path.join(dir, 'layout.tar'),
      [busyboxImage('harness/bb:1'), multiLayerImage('harness/multi:1', 3)],
      { format: 'oci' },
    );
    const files = new Map<string, Buffer>();
    const entries = await readArchive(written.file, (name, bytes) => files.set(name, bytes));
    for (const [name, entry] of entries) {
      if (name.startsWith('blobs/sha256/') && entry.type === 'file') expect(entry.sha256, name).toBe(path.basename(name));
    }
    const [bb, multi] = written.images;
    expect(multi.diffIds[0]).toBe(bb.diffIds[0]);
    expect([...entries.keys()].filter((name) => name === `blobs/sha256/${hex(bb.diffIds[0])}`)).toHaveLength(1);
    expect(JSON.parse(files.get('oci-layout')!.toString())).toEqual({ imageLayoutVersion: '1.0.0' });

    const manifestJson = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    expect(manifestJson).toEqual(
      written.images.map((image) => ({
        Config: `blobs/sha256/${hex(image.id)}`,
        RepoTags: image.repoTags,
        Layers: image.diffIds.map((d) => `blobs/sha256/${hex(d)}`),
      })),
    );
    const index = JSON.parse(files.get('index.json')!.toString()) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
    expect(index.manifests.map((m) => [m.digest, m.annotations['io.containerd.image.name'], m.annotations['org.opencontainers.image.ref.name']])).toEqual([
      [bb.manifestDigest, 'docker.io/harness/bb:1', '1'],
      [multi.manifestDigest, 'docker.io/harness/multi:1', '1'],
    ]);
    for (const image of written.images) {
      const manifest = JSON.parse(files.get(`blobs/sha256/${hex(image.manifestDigest!)}`)!.toString()) as {
        config: { digest: string };
        layers: Array<{ digest: string; size: number; mediaType: string }>;
      };
      expect(manifest.config.digest).toBe(image.id);
      expect(manifest.layers.map((l) => [l.digest, l.size])).toEqual(image.diffIds.map((d, i) => [d, image.layerSizes[i]]));
      const config = JSON.parse(files.get(`blobs/sha256/${hex(image.id)}`)!.toString()) as { rootfs: { diff_ids: string[] }; history: unknown[] };
      expect(config.rootfs.diff_ids).toEqual(image.diffIds);
      expect(config.history).toHaveLength(image.diffIds.length);
    }

    // The top layer of the multi-layer image: sorted, parents first, whiteout, fixed owner and time.
    const top = await readLayer(files.get(`blobs/sha256/${hex(multi.diffIds[3])}`)!);
    const names = [...top.keys()];
    expect(names).toEqual(['data/', 'data/.wh.doomed.txt', 'data/layer-3.txt', 'data/tag.txt']);
    expect([...top.values()].every((e) => e.uid === 0 && e.gid === 0 && e.mtime === Date.parse('2024-01-01T00:00:00Z'))).toBe(true);
  });

  it('legacy: one directory per v1 layer, and a layer shared under another v1 ID is a relative symlink', async () => {
    const written = await writeDockerArchive(
      path.join(dir, 'legacy.tar'),
      [busyboxImage('harness/bb:1'), multiLayerImage('harness/multi:1', 2)],
      { format: 'docker-archive-legacy' },
    );
    const files = new Map<string, Buffer>();
    const entries = await readArchive(written.file, (name, bytes) => files.set(name, bytes));
    const manifestJson = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Config: string; Layers: string[] }>;
    expect(manifestJson.map((m) => m.Config)).toEqual(written.images.map((i) => `${hex(i.id)}.json`));
    // busybox is the top layer of one image and the bottom of the other: two v1 IDs, one copy.
    const [bbLayer] = manifestJson[0].Layers;
    const [multiBase] = manifestJson[1].Layers;
    expect(bbLayer).not.toBe(multiBase);
    const kinds = [entries.get(bbLayer)!, entries.get(multiBase)!].map((e) => e.type).sort();
    expect(kinds).toEqual(['file', 'symlink']);
    const link = [bbLayer, multiBase].find((name) => entries.get(name)!.type === 'symlink')!;
    const target = [bbLayer, multiBase].find((name) => name !== link)!;
    expect(entries.get(link)!.linkname).toBe(`../${target}`);
    expect(entries.get(target)!.sha256).toBe(hex(written.images[0].diffIds[0]));
    for (const m of manifestJson) {
      for (const layer of m.Layers) expect(files.get(layer.replace('layer.tar', 'VERSION'))!.toString()).toBe('1.0');
    }
    expect(JSON.parse(files.get('repositories')!.toString())).toEqual({
      'harness/bb': { '1': path.dirname(bbLayer) },
      'harness/multi': { '1': path.dirname(manifestJson[1].Layers[2]) },
    });
  });

  it('largeImage streams the requested amount of incompressible data', async () => {
    const written = await writeDockerArchive(path.join(dir, 'large.tar'), [largeImage('harness/large:1', 3, 12)], { format: 'oci' });
    const [image] = written.images;
    expect(image.diffIds).toHaveLength(3);
    const payload = 12 * 1024 * 1024;
    const total = image.layerSizes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(payload);
    expect(total).toBeLessThan(payload + 4 * 1024 * 1024); // + busybox and tar headers
    // Incompressible: gzip of the archive is not meaningfully smaller.
    const gz = await writeDockerArchive(path.join(dir, 'large.tar.gz'), [largeImage('harness/large:1', 3, 12)], { format: 'oci', gzip: true });
    expect(statSync(gz.file).size).toBeGreaterThan(payload * 0.95);
    expect(gz.images[0].id).toBe(image.id);
  });

  it('a layer tarred from busyboxRootfs() equals the busyboxFiles() layer, byte for byte', async () => {
    const root = await busyboxRootfs(path.join(dir, 'rootfs-for-layer'));
    const fromDir = await writeDockerArchive(path.join(dir, 'from-dir.tar'), [{ repoTags: ['harness/dir:1'], layers: [{ directory: root }] }], { format: 'oci' });
    const fromFiles = await writeDockerArchive(path.join(dir, 'from-files.tar'), [busyboxImage('harness/files:1')], { format: 'oci' });
    expect(fromDir.images[0].diffIds).toEqual(fromFiles.images[0].diffIds);
  });

  it.skipIf(process.getuid?.() !== 0 || !existsSync('/usr/sbin/chroot'))('busyboxRootfs is a root filesystem a shell runs in', async () => {
    const root = await busyboxRootfs(path.join(dir, 'rootfs'));
    const out = execFileSync('chroot', [root, '/bin/sh', '-c', 'echo hi from $(cat /etc/passwd | head -n 1 | cut -d: -f1); ls -d /root /tmp'], {
      encoding: 'utf8',
    });
    expect(out).toBe('hi from root\n/root\n/tmp\n');
    expect(statSync(path.join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
  });

  describe('hostile archives', () => {
    it('bomb: about a megabyte on disk, over a gigabyte unpacked', async () => {
      const file = await hostileArchive('bomb');
      expect(statSync(file).size).toBeLessThan(4 * 1024 * 1024);
      // gzip's trailer holds the unpacked size (mod 2^32), and the tar announces a ≥ 1 GiB entry.
      const bytes = readFileSync(file);
      expect(bytes.readUInt32LE(bytes.length - 4)).toBeGreaterThan(1024 ** 3);
      const parser = extract();
      const piping = pipeline(createReadStream(file), createGunzip(), parser).catch(() => undefined); // stopped early on purpose
      let largest = 0;
      for await (const entry of parser) {
        largest = Math.max(largest, entry.header.size);
        if (largest >= 1024 ** 3) break; // no need to inflate the gigabyte
        entry.resume();
      }
      await piping;
      expect(largest).toBeGreaterThanOrEqual(1024 ** 3);
    });

    it('bad-diffid: the config names a diff_id that no layer has', async () => {
      const files = new Map<string, Buffer>();
      const entries = await readArchive(await hostileArchive('bad-diffid'), (name, bytes) => files.set(name, bytes));
      const [item] = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Config: string; Layers: string[] }>;
      const config = JSON.parse(files.get(item.Config)!.toString()) as { rootfs: { diff_ids: string[] } };
      const actual = item.Layers.map((layer) => `sha256:${entries.get(layer)!.sha256}`);
      expect(config.rootfs.diff_ids[0]).toBe(actual[0]);
      expect(config.rootfs.diff_ids[1]).not.toBe(actual[1]);
    });

    it('missing-layer: manifest.json names a file the archive lacks', async () => {
      const files = new Map<string, Buffer>();
      const entries = await readArchive(await hostileArchive('missing-layer'), (name, bytes) => files.set(name, bytes));
      const [item] = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Layers: string[] }>;
      expect(item.Layers.map((layer) => entries.has(layer))).toEqual([true, false]);
    });

    it('traversal, symlink-escape, hardlink-escape and device carry the named entries', async () => {
      const layerEntries = async (kind: HostileArchiveKind): Promise<Map<string, ArchiveEntry>> => {
        const files = new Map<string, Buffer>();
        await readArchive(await hostileArchive(kind), (name, bytes) => files.set(name, bytes));
        const [item] = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Layers: string[] }>;
        return readLayer(files.get(item.Layers[1])!);
      };
      expect((await layerEntries('traversal')).get('../../evil')?.type).toBe('file');
      const symlink = await layerEntries('symlink-escape');
      expect(symlink.get('x')).toMatchObject({ type: 'symlink', linkname: '/etc' });
      expect(symlink.get('x/passwd')?.type).toBe('file');
      expect((await layerEntries('hardlink-escape')).get('evil')).toMatchObject({ type: 'link', linkname: '../../../../etc/passwd' });
      expect((await layerEntries('device')).get('dev/evil')?.type).toBe('character-device');
      const outer = await readArchive(await hostileArchive('archive-traversal'));
      expect(outer.get('../../evil')?.type).toBe('file');
    });

    it('truncated and garbage are not readable tars', async () => {
      await expect(readArchive(await hostileArchive('truncated'))).rejects.toThrow();
      await expect(readArchive(await hostileArchive('garbage'))).rejects.toThrow();
    });
  });
});

const noDockerd = dockerdUnavailableReason();

describe.skipIf(noDockerd !== null)(`fixtures in a real dockerd${noDockerd ? ` (skipped: ${noDockerd})` : ''}`, () => {
  let dockerd: DockerdHandle | null;
  let docker: DockerCli;
  let dir: string;
  let multi: WrittenArchive;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'harness-dockerd-'));
    dockerd = await startDockerd();
    if (dockerd) docker = dockerCli(dockerd.host);
  });
  afterAll(async () => {
    await docker?.dispose();
    await dockerd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const requireDockerd = (skip: (note: string) => never): void => {
    if (!dockerd) skip('startDockerd() returned null: see the [testing] warning above for the reason');
  };

  const imageIds = async (): Promise<string[]> =>
    (await docker.run(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean).sort();

  const cases = formats.flatMap((format) => [false, true].map((gzip) => ({ format, gzip })));
  it.for(cases)('docker load -i accepts $format (gzip: $gzip) with the image IDs the fixture computed', async ({ format, gzip }, ctx) => {
    requireDockerd(ctx.skip);
    const suffix = `${format === 'oci' ? 'oci' : 'legacy'}-${gzip ? 'gz' : 'plain'}`;
    const file = path.join(dir, `load-${suffix}.tar${gzip ? '.gz' : ''}`);
    const written = await writeDockerArchive(
      file,
      [busyboxImage(`harness/busybox:${suffix}`), { ...multiLayerImage(`harness/multi:${suffix}`, 3), repoTags: [`harness/multi:${suffix}`, `localhost:5000/harness/multi:${suffix}`] }],
      { format, gzip },
    );
    if (format === 'oci' && !gzip) multi = written;
    const { stdout } = await docker.run(['load', '-i', file]);
    for (const image of written.images) {
      for (const tag of image.repoTags) expect(stdout).toContain(`Loaded image: ${tag}`);
      const [inspected] = JSON.parse((await docker.run(['image', 'inspect', image.repoTags[0]])).stdout) as Array<{
        Id: string;
        RepoTags: string[];
        RootFS: { Layers: string[] };
        Config: { Cmd: string[]; Labels: Record<string, string> | null };
        Architecture: string;
      }>;
      expect(inspected.Id).toBe(image.id);
      // busybox images share one ID whatever the tag, so earlier cases' tags show up too.
      expect(inspected.RepoTags).toEqual(expect.arrayContaining(image.repoTags));
      expect(inspected.RootFS.Layers).toEqual(image.diffIds);
      expect(inspected.Config.Cmd).toEqual(['sh']);
      expect(inspected.Architecture).toBe(image.config.architecture);
    }
  });

  it('the layers apply as Docker applies them: whiteout removes, symlinks and modes survive', async (ctx) => {
    requireDockerd(ctx.skip);
    expect(multi, 'the oci load case ran first').toBeDefined();
    const tag = multi.images[1].repoTags[0];
    const { entries, files } = await exportImage(tag);
    expect(entries.has('data/doomed.txt')).toBe(false);
    expect([...entries.keys()].some((name) => name.includes('.wh.'))).toBe(false);
    expect(files.get('data/layer-1.txt')!.toString()).toBe('layer 1\n');
    expect(files.get('data/tag.txt')!.toString()).toBe(`${tag}\n`);
    expect(entries.get('data/nested/deep/file.txt')?.type).toBe('file');
    expect(entries.get('data/link-to-layer-1')).toMatchObject({ type: 'symlink', linkname: 'layer-1.txt' });
    expect(entries.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(entries.get('bin/busybox')!.sha256).toBe(sha256File('/bin/busybox'));
  });

  it('a streamed largeImage loads with the computed ID', async (ctx) => {
    requireDockerd(ctx.skip);
    const written = await writeDockerArchive(path.join(dir, 'large.tar'), [largeImage('harness/large:1', 4, 24)], { format: 'oci' });
    await docker.run(['load', '-i', written.file]);
    const id = (await docker.run(['image', 'inspect', 'harness/large:1', '--format', '{{.Id}}'])).stdout.trim();
    expect(id).toBe(written.images[0].id);
  });

  // What dockerd itself refuses; cargohold must refuse at least these.
  const refused: Array<[HostileArchiveKind, RegExp]> = [
    ['hardlink-escape', /link \/etc\/passwd \/evil: no such file or directory/],
    ['bad-diffid', /invalid diffID/i],
    ['missing-layer', /no such file or directory/i],
    ['truncated', /unexpected EOF/i],
    ['garbage', /no such file or directory|invalid tar header|unexpected EOF/i],
  ];
  it.for(refused)('dockerd refuses the %s archive and changes nothing', async ([kind, message], ctx) => {
    requireDockerd(ctx.skip);
    const before = await imageIds();
    const result = await docker.run(['load', '-i', await hostileArchive(kind)], { allowFailure: true });
    expect(result.code, result.stdout + result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(await imageIds()).toEqual(before);
  });

  // dockerd unpacks chrooted, so these are clamped inside the image root instead of refused. The
  // fixtures are otherwise valid images: a refusal by cargohold is about the hostile entry alone.
  it('dockerd keeps traversal, symlink-escape and device entries inside the image root', async (ctx) => {
    requireDockerd(ctx.skip);
    const traversal = await loadAndExport('traversal');
    expect(traversal.files.get('evil')?.toString()).toBe('written outside the root\n');
    const symlink = await loadAndExport('symlink-escape');
    expect(symlink.entries.get('x')).toMatchObject({ type: 'symlink', linkname: '/etc' });
    expect(symlink.files.get('etc/passwd')?.toString()).toContain('pwned');
    const device = await loadAndExport('device');
    expect(device.entries.get('dev/evil')?.type).toBe('character-device');
    const outer = await docker.run(['load', '-i', await hostileArchive('archive-traversal')]);
    expect(outer.stdout).toContain('Loaded image: hostile/archive-traversal:latest');
  });

  async function loadAndExport(kind: HostileArchiveKind): Promise<{ entries: Map<string, ArchiveEntry>; files: Map<string, Buffer> }> {
    const loaded = await docker.run(['load', '-i', await hostileArchive(kind)]);
    expect(loaded.stdout).toContain(`Loaded image: hostile/${kind}:latest`);
    return exportImage(`hostile/${kind}:latest`);
  }

  async function exportImage(tag: string): Promise<{ entries: Map<string, ArchiveEntry>; files: Map<string, Buffer> }> {
    // A created (never started) container is the image's merged root filesystem.
    const container = (await docker.run(['create', '--network', 'none', tag, 'true'])).stdout.trim();
    const exported = path.join(dir, `export-${container}.tar`);
    try {
      await docker.run(['export', '-o', exported, container]);
    } finally {
      await docker.run(['rm', container]);
    }
    const files = new Map<string, Buffer>();
    const entries = await readArchive(exported, (name, bytes) => files.set(name, bytes));
    return { entries, files };
  }

  it('the cli rejects with the output in the message, or returns it with allowFailure', async (ctx) => {
    requireDockerd(ctx.skip);
    await expect(docker.run(['image', 'inspect', 'harness/absent:1'])).rejects.toThrow(/exit code 1[\s\S]*No such image: harness\/absent:1/);
    const result = await docker.run(['image', 'inspect', 'harness/absent:1'], { allowFailure: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No such image');
    // Nothing from ~/.docker: the client's config dir is its own, empty one.
    expect(readFileSync(path.join(docker.configDir, 'config.json'), 'utf8').trim()).toBe('{}');
  });
});

const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
const hasUmoci = spawnSync('umoci', ['--version']).status === 0;

describe('the OCI variant is a layout other OCI tools read', () => {
  let dir: string;
  let written: WrittenArchive;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'harness-oci-'));
    written = await writeDockerArchive(
      path.join(dir, 'images.tar'),
      [busyboxImage('harness/bb:one'), multiLayerImage('harness/multi:two', 3)],
      { format: 'oci' },
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!hasSkopeo)('skopeo inspects the manifest and config, and copies it verifying every digest', () => {
    const [bb, multi] = written.images;
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${written.file}:two`], { encoding: 'utf8' })) as {
      Digest: string;
      Layers: string[];
    };
    expect(inspect.Digest).toBe(multi.manifestDigest);
    expect(inspect.Layers).toEqual(multi.diffIds);
    const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci-archive:${written.file}:one`], { encoding: 'utf8' })) as {
      rootfs: { diff_ids: string[] };
    };
    expect(config.rootfs.diff_ids).toEqual(bb.diffIds);
    const copy = path.join(dir, 'copy');
    execFileSync('skopeo', ['copy', '--quiet', `oci-archive:${written.file}:two`, `dir:${copy}`]);
    expect(existsSync(path.join(copy, hex(multi.diffIds[3])))).toBe(true);
  });

  it.skipIf(!hasUmoci)('umoci unpacks it into a root filesystem with the whiteout applied', () => {
    const layout = path.join(dir, 'layout');
    mkdirSync(layout);
    execFileSync('tar', ['-xf', written.file, '-C', layout]);
    const bundle = path.join(dir, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:two`, bundle], { stdio: 'pipe' });
    const rootfs = path.join(bundle, 'rootfs');
    expect(readFileSync(path.join(rootfs, 'data/layer-3.txt'), 'utf8')).toBe('layer 3\n');
    expect(existsSync(path.join(rootfs, 'data/doomed.txt'))).toBe(false);
    expect(statSync(path.join(rootfs, 'data/script.sh')).mode & 0o777).toBe(0o755);
    expect(sha256File(path.join(rootfs, 'bin/busybox'))).toBe(sha256File('/bin/busybox'));
  });
});

describe('startSystem (with a stand-in launcher)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'harness-system-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const launcher = (name: string, body: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, body);
    return file;
  };

  it('fails clearly when the launcher has not been built', async () => {
    await expect(startSystem({ entry: path.join(dir, 'absent', 'main.js') })).rejects.toThrow(/run node scripts\/build\.mjs first/);
  });

  it('waits for the ready line, passes its settings, and reaps the whole process tree on stop', async () => {
    const entry = launcher(
      'ok.js',
      `
      const http = require('node:http');
      const { spawn } = require('node:child_process');
      // A grandchild that outlives a careless parent: stop() must still reap it.
      const stray = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      console.error('stray ' + stray.pid + ' data ' + process.env.CARGOHOLD_DATA_DIR + ' level ' + process.env.CARGOHOLD_LOG_LEVEL + ' x ' + process.env.EXTRA);
      http.createServer((req, res) => res.end('pong')).listen(Number(process.env.CARGOHOLD_PORT), process.env.CARGOHOLD_HOST, () => {
        console.log('cargohold is up: http://' + process.env.CARGOHOLD_HOST + ':' + process.env.CARGOHOLD_PORT);
      });
      process.on('SIGTERM', () => process.exit(0));
      `,
    );
    const system = await startSystem({ entry, env: { EXTRA: 'yes' } });
    try {
      expect(system.url).toBe(`http://127.0.0.1:${system.env.CARGOHOLD_PORT}`);
      expect(system.dockerHost).toBe(`tcp://127.0.0.1:${system.env.CARGOHOLD_PORT}`);
      expect(existsSync(system.dataDir)).toBe(true);
      expect(await (await fetch(system.url)).text()).toBe('pong');
      expect(system.logs()).toContain(`data ${system.dataDir} level warn x yes`);
    } finally {
      await system.stop();
    }
    const strayPid = Number(/stray (\d+)/.exec(system.logs())![1]);
    await expect.poll(() => isRunning(strayPid), { timeout: 5_000 }).toBe(false);
    expect(existsSync(system.dataDir)).toBe(false);
  });

  it('reports the logs when the launcher dies before it is up', async () => {
    const entry = launcher('dies.js', `console.error('redis-server not found'); process.exit(3);`);
    await expect(startSystem({ entry })).rejects.toThrow(/exited \(3\)[\s\S]*redis-server not found/);
  });

  it('gives up after the start timeout and kills the launcher', async () => {
    const entry = launcher('silent.js', `console.log('pid ' + process.pid); setInterval(() => {}, 1000);`);
    const failure = await startSystem({ entry, startTimeoutMs: 1_500 }).catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/did not print "cargohold is up" within 1500 ms/);
    const pid = Number(/pid (\d+)/.exec((failure as Error).message)![1]);
    await expect.poll(() => isRunning(pid), { timeout: 5_000 }).toBe(false);
  });
});
