import { existsSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { constants as zlibConstants } from 'node:zlib';
import { deterministicBuffer } from './deterministic-bytes.util';
import type { ArchiveTamper } from './fixture-archive.util';
import { writeArchive } from './fixture-archive.util';
import { scratchDir } from './scratch-dir.util';
import type { ArchiveFormat, FixtureEntry, FixtureImage, FixtureLayer, WriteArchiveOptions, WrittenArchive } from './fixture.types';

export * from './fixture.types';
export { FIXTURE_CREATED, hostArchitecture } from './fixture-archive.util';
export { FIXTURE_MTIME } from './fixture-layer.util';

/**
 * Writes a `docker save` archive of `images` to `file` (parent directories created).
 * Layer tars are deterministic: sorted, fixed mtime, owner 0:0 unless an entry says otherwise.
 * The returned IDs and digests are computed from the bytes written, for tests to assert on.
 */
export function writeDockerArchive(file: string, images: FixtureImage[], options: WriteArchiveOptions): Promise<WrittenArchive> {
  return writeArchive(file, images, options);
}

const BUSYBOX_BINARY = '/bin/busybox';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Applets linked in /bin: enough for shell scripts and Dockerfile RUN steps. */
export const BUSYBOX_APPLETS = [
  '[', 'ash', 'awk', 'basename', 'cat', 'chmod', 'chown', 'cp', 'cut', 'date', 'dd', 'df', 'diff', 'dirname', 'du',
  'echo', 'env', 'expr', 'false', 'find', 'grep', 'gunzip', 'gzip', 'head', 'hostname', 'id', 'kill', 'ln', 'ls',
  'md5sum', 'mkdir', 'mktemp', 'mv', 'printf', 'ps', 'pwd', 'readlink', 'realpath', 'rm', 'rmdir', 'sed', 'seq',
  'sh', 'sha256sum', 'sleep', 'sort', 'stat', 'tail', 'tar', 'tee', 'test', 'touch', 'tr', 'true', 'uname', 'uniq',
  'wc', 'which', 'whoami', 'xargs', 'yes',
] as const;

/** The entries of a minimal busybox root filesystem (copied from this machine's /bin/busybox). */
export function busyboxFiles(): FixtureEntry[] {
  if (!existsSync(BUSYBOX_BINARY)) throw new Error(`${BUSYBOX_BINARY} is missing: apt-get install -y busybox-static`);
  return [
    { path: 'bin', dir: true },
    { path: 'bin/busybox', source: BUSYBOX_BINARY, mode: 0o755 },
    ...BUSYBOX_APPLETS.map((applet): FixtureEntry => ({ path: `bin/${applet}`, symlink: 'busybox' })),
    { path: 'usr/bin/env', symlink: '/bin/busybox' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { path: 'etc/group', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { path: 'root', dir: true, mode: 0o700 },
    { path: 'tmp', dir: true, mode: 0o1777 },
  ];
}

/**
 * Materialises busyboxFiles() in `dir` (created if needed); returns `dir`. Modes are set
 * explicitly, whatever the umask, so `{ directory: dir }` tars to the same layer as busyboxFiles().
 */
export async function busyboxRootfs(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const entries = busyboxFiles();
  const declared = new Set(entries.map((entry) => entry.path));
  for (const entry of entries) {
    const target = path.join(dir, entry.path);
    await mkdir(path.dirname(target), { recursive: true });
    for (let parent = path.posix.dirname(entry.path); parent !== '.'; parent = path.posix.dirname(parent)) {
      if (!declared.has(parent)) await chmod(path.join(dir, parent), 0o755);
    }
    if ('dir' in entry) await mkdir(target, { recursive: true });
    else if ('source' in entry) await copyFile(entry.source, target);
    else if ('content' in entry) await writeFile(target, entry.content);
    else if ('symlink' in entry) {
      await rm(target, { force: true });
      await symlink(entry.symlink, target);
    }
    if (!('symlink' in entry)) await chmod(target, entry.mode ?? ('dir' in entry ? 0o755 : 0o644));
  }
  return dir;
}

let busyboxLayerCache: FixtureLayer | undefined;

/** One shared layer object, so archives hash it once however many images use it. */
function busyboxLayer(): FixtureLayer {
  busyboxLayerCache ??= { files: busyboxFiles(), createdBy: 'ADD busybox rootfs /' };
  return busyboxLayerCache;
}

/** busybox as a one-layer image. Its ID does not depend on `tag`: every tag names the same image. */
export function busyboxImage(tag: string): FixtureImage {
  return { repoTags: [tag], layers: [busyboxLayer()], config: { Env: [PATH_ENV], Cmd: ['sh'] } };
}

/**
 * busybox plus `n` (≥ 2) small layers, so n + 1 layers in all:
 * - layer 1 adds /data/layer-1.txt, /data/doomed.txt, /data/nested/deep/file.txt, an executable
 *   /data/script.sh and a symlink /data/link-to-layer-1 → layer-1.txt;
 * - layer i adds /data/layer-i.txt ("layer i\n");
 * - layer n also deletes /data/doomed.txt with a whiteout (/data/.wh.doomed.txt) and adds
 *   /data/tag.txt holding `tag`, so different tags give different images sharing lower layers.
 */
export function multiLayerImage(tag: string, n = 3): FixtureImage {
  if (!Number.isInteger(n) || n < 2) throw new Error(`multiLayerImage needs n ≥ 2 (one layer adds a file, a later one deletes it), got ${n}`);
  const layers: FixtureLayer[] = [busyboxLayer()];
  for (let i = 1; i <= n; i++) {
    const files: FixtureEntry[] = [{ path: `data/layer-${i}.txt`, content: `layer ${i}\n` }];
    if (i === 1) {
      files.push(
        { path: 'data/doomed.txt', content: 'removed by a later layer\n' },
        { path: 'data/nested/deep/file.txt', content: 'deep\n' },
        { path: 'data/script.sh', content: '#!/bin/sh\necho hello from the fixture\n', mode: 0o755 },
        { path: 'data/link-to-layer-1', symlink: 'layer-1.txt' },
      );
    }
    if (i === n) files.push({ path: 'data/doomed.txt', whiteout: true }, { path: 'data/tag.txt', content: `${tag}\n` });
    layers.push({ files, createdBy: `/bin/sh -c #(nop) fixture layer ${i}` });
  }
  return {
    repoTags: [tag],
    layers,
    config: { Env: [PATH_ENV], Cmd: ['sh'], WorkingDir: '/data', Labels: { 'org.cargohold.fixture': 'multi-layer' } },
  };
}

const MIB = 1024 * 1024;
const LARGE_FILE_MAX = 32 * MIB;

/**
 * A benchmark image of `layers` layers holding `totalMB` MiB of incompressible bytes in all
 * (the first layer also holds busybox). Contents derive from `tag`, so two tags share nothing;
 * bytes are generated while the archive is written, never held in memory.
 */
export function largeImage(tag: string, layers = 7, totalMB = 300): FixtureImage {
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`largeImage needs at least one layer, got ${layers}`);
  const total = Math.round(totalMB * MIB);
  const perLayer = Math.floor(total / layers);
  const fixtureLayers: FixtureLayer[] = [];
  for (let i = 0; i < layers; i++) {
    const files: FixtureEntry[] = i === 0 ? busyboxFiles() : [];
    let left = i === layers - 1 ? total - perLayer * (layers - 1) : perLayer;
    for (let part = 0; left > 0; part++) {
      const size = Math.min(left, LARGE_FILE_MAX);
      files.push({ path: `payload/layer-${i + 1}/part-${part}.bin`, generated: { size, fill: 'random', seed: `${tag}/${i}/${part}` } });
      left -= size;
    }
    fixtureLayers.push({ files, createdBy: `/bin/sh -c #(nop) payload layer ${i + 1}` });
  }
  return { repoTags: [tag], layers: fixtureLayers, config: { Env: [PATH_ENV], Cmd: ['sh'] } };
}

/**
 * Archives that a careful loader must refuse (or, for symlink-escape and device, must at least
 * never apply outside the image root):
 * - traversal: a layer entry named `../../evil`;
 * - archive-traversal: an archive entry (outside any layer) named `../../evil`;
 * - symlink-escape: layer holds symlink `x → /etc`, then file `x/passwd`;
 * - hardlink-escape: hard link `evil` → `../../../../etc/passwd`;
 * - device: a character device (1,3) at /dev/evil;
 * - bomb: gzip archive whose layer holds 1 GiB of zeros (≈1 MB on disk);
 * - truncated: a valid archive cut off halfway;
 * - garbage: 64 KiB of random bytes;
 * - bad-diffid: the config's diff_id does not match the layer;
 * - missing-layer: manifest.json names a layer file the archive lacks.
 * Every kind except garbage/truncated is otherwise a well-formed archive with correct digests.
 */
export type HostileArchiveKind =
  | 'traversal'
  | 'archive-traversal'
  | 'symlink-escape'
  | 'hardlink-escape'
  | 'device'
  | 'bomb'
  | 'truncated'
  | 'garbage'
  | 'bad-diffid'
  | 'missing-layer';

export interface HostileArchiveOptions {
  /** Where to write; by default a per-process scratch directory removed when the process ends (files are reused). */
  dir?: string;
  /** Default 'oci' (what Docker ≥ 25 writes). */
  format?: ArchiveFormat;
  /** Uncompressed size of the bomb's zero file; default 1 GiB. */
  bombBytes?: number;
}

let defaultHostileDir: string | undefined;
const hostileCache = new Map<string, Promise<string>>();

/** Writes a hostile fixture archive and returns its path (see HostileArchiveKind). */
export function hostileArchive(kind: HostileArchiveKind, options: HostileArchiveOptions = {}): Promise<string> {
  const format = options.format ?? 'oci';
  const bombBytes = options.bombBytes ?? 1024 * MIB;
  const key = JSON.stringify([kind, format, bombBytes, options.dir ?? null]);
  let file = hostileCache.get(key);
  if (!file) {
    const dir = options.dir ?? (defaultHostileDir ??= scratchDir('hostile'));
    file = writeHostile(kind, path.join(dir, hostileFileName(kind, format, bombBytes)), format, bombBytes);
    file.catch(() => hostileCache.delete(key));
    hostileCache.set(key, file);
  }
  return file;
}

function hostileFileName(kind: HostileArchiveKind, format: ArchiveFormat, bombBytes: number): string {
  const suffix = kind === 'bomb' ? `-${bombBytes}.tar.gz` : '.tar';
  return `hostile-${kind}-${format}${suffix}`;
}

async function writeHostile(kind: HostileArchiveKind, file: string, format: ArchiveFormat, bombBytes: number): Promise<string> {
  const tag = `hostile/${kind}:latest`;
  const base: FixtureLayer = { files: [{ path: 'etc/hostile-fixture', content: `${kind}\n` }], createdBy: 'hostile base' };
  const one = (files: FixtureEntry[], tamper: ArchiveTamper = {}, gzip = false): Promise<WrittenArchive> =>
    writeArchive(file, [{ repoTags: [tag], layers: [base, { files, createdBy: `hostile ${kind}` }] }], { format, gzip }, tamper);

  switch (kind) {
    case 'traversal':
      await one([{ path: 'etc/ok', content: 'fine\n' }, { path: '../../evil', content: 'written outside the root\n' }]);
      break;
    case 'archive-traversal':
      await one([{ path: 'etc/ok', content: 'fine\n' }], { extraEntries: [{ name: '../../evil', content: Buffer.from('written outside the target\n') }] });
      break;
    case 'symlink-escape':
      await one([{ path: 'x', symlink: '/etc' }, { path: 'x/passwd', content: 'root::0:0:pwned:/root:/bin/sh\n' }]);
      break;
    case 'hardlink-escape':
      await one([{ path: 'etc/ok', content: 'fine\n' }, { path: 'evil', hardlink: '../../../../etc/passwd' }]);
      break;
    case 'device':
      await one([{ path: 'dev/evil', device: { kind: 'char', major: 1, minor: 3 }, mode: 0o666 }]);
      break;
    case 'bomb':
      await one([{ path: 'zeros.bin', generated: { size: bombBytes, fill: 'zeros' } }], { gzip: { level: 9, strategy: zlibConstants.Z_RLE } }, true);
      break;
    case 'truncated':
      await one([{ path: 'payload.bin', generated: { size: 256 * 1024, fill: 'random', seed: 'truncated' } }]);
      await truncate(file, Math.floor(statSync(file).size / 2));
      break;
    case 'garbage':
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, deterministicBuffer(64 * 1024, 'garbage'));
      break;
    case 'bad-diffid':
      await one([{ path: 'etc/ok', content: 'fine\n' }], {
        diffIds: (_index, real) => real.map((d, i) => (i === real.length - 1 ? `sha256:${'0123456789abcdef'.repeat(4)}` : d)),
      });
      break;
    case 'missing-layer':
      await one([{ path: 'etc/missing', content: 'this layer is not in the archive\n' }], { omitLayer: { image: 0, layer: 1 } });
      break;
  }
  return file;
}
