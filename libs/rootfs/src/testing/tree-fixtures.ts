import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from '@cargohold/oci';
import type { TarEntryHeader } from '@cargohold/oci';

/** Temp directories for one test file, removed by `cleanup()` (call it in afterAll/afterEach). */
export class TempDirs {
  private readonly made: string[] = [];

  /** A new directory under `base` (default: the OS temp dir). */
  make(prefix: string, base = tmpdir()): string {
    const dir = mkdtempSync(`${base}/rootfs-${prefix}-`);
    this.made.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.made.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export interface FixtureEntry extends Partial<Omit<TarEntryHeader, 'name' | 'size'>> {
  name: string;
  content?: string | Buffer;
}

/**
 * A layer tar built with this library's header encoder (whose bytes the unit tests check against
 * tar-stream and GNU tar). Names are used as given, so hostile names can be written.
 */
export function layerTar(entries: readonly FixtureEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = typeof entry.content === 'string' ? Buffer.from(entry.content) : (entry.content ?? Buffer.alloc(0));
    const type = entry.type ?? 'file';
    parts.push(
      encodeTarHeader({
        mode: type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644,
        uid: 0,
        gid: 0,
        mtime: 1_600_000_000,
        ...entry,
        type,
        size: type === 'file' ? content.length : 0,
      }),
    );
    if (type === 'file') parts.push(content, tarPadding(content.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** A writable that keeps everything written to it. */
export class BufferSink extends Writable {
  private readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    callback();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export interface TreeEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size?: number;
  sha256?: string;
  target?: string;
  /** Other paths of the same inode (hardlinks), sorted. */
  links?: string[];
}

/**
 * Everything observable of a tree: type, mode, owner, mtime (seconds), content digest, symlink
 * target and hardlink groups, keyed by root-relative path. Directory mtimes are left out when
 * `ignoreDirTimes`.
 */
export function describeTree(root: string, options: { ignoreDirTimes?: boolean } = {}): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<number, string[]>();
  const visit = (rel: string): void => {
    for (const name of readdirSync(rel ? `${root}/${rel}` : root).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = `${root}/${path}`;
      const stats = lstatSync(abs);
      const entry: TreeEntry = {
        type: stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'symlink' : stats.isFile() ? 'file' : stats.isFIFO() ? 'fifo' : 'other',
        mode: stats.mode & 0o7777,
        uid: stats.uid,
        gid: stats.gid,
        mtime: Math.floor(stats.mtimeMs / 1000),
      };
      if (stats.isDirectory() && options.ignoreDirTimes) entry.mtime = 0;
      if (stats.isFile()) {
        entry.size = stats.size;
        entry.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
        if (stats.nlink > 1) inodes.set(stats.ino, [...(inodes.get(stats.ino) ?? []), path]);
      }
      if (stats.isSymbolicLink()) entry.target = readlinkSync(abs);
      out[path] = entry;
      if (stats.isDirectory()) visit(path);
    }
  };
  visit('');
  for (const paths of inodes.values()) for (const path of paths) out[path].links = [...paths].sort();
  return out;
}

/** tmpfs when the machine has one (file creation there is ~25x cheaper than on ext4), else the temp dir. */
export function fastTempBase(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A valid file capability (v2, cap_net_raw permitted and effective), as setcap would write it. */
export const NET_RAW_CAPABILITY = Buffer.from('0100000200200000000000000000000000000000', 'hex');

/**
 * A small busybox root filesystem under `root`: the host's static busybox with its applet
 * symlinks (`busybox --install -s`, run chrooted), /etc files, a setuid binary, a hardlink pair,
 * a FIFO, a sticky /tmp, a long and a non-ASCII name, a file owned by uid 1000, a 3 MiB file and
 * a file capability.
 */
export function buildBusyboxTree(root: string): void {
  const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((path) => existsSync(path));
  if (!busybox) throw new Error('this test needs the static busybox binary: apt-get install -y busybox-static');
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'home/user', 'var/empty', 'run']) mkdirSync(`${root}/${dir}`, { recursive: true });
  copyFileSync(busybox, `${root}/bin/busybox`);
  chmodSync(`${root}/bin/busybox`, 0o755);
  execFileSync('chroot', [root, '/bin/busybox', '--install', '-s']);
  writeFileSync(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n');
  writeFileSync(`${root}/etc/group`, 'root:x:0:\nuser:x:1000:\n');
  chmodSync(`${root}/root`, 0o700);
  mkdirSync(`${root}/tmp`, { mode: 0o1777 });
  chmodSync(`${root}/tmp`, 0o1777);
  // `busybox --install -s` made usr/bin/passwd an ABSOLUTE symlink to /bin/busybox: writing
  // through it from outside the chroot would overwrite the host's busybox. Replace the link.
  rmSync(`${root}/usr/bin/passwd`, { force: true });
  writeFileSync(`${root}/usr/bin/passwd`, 'setuid');
  chmodSync(`${root}/usr/bin/passwd`, 0o4755);
  writeFileSync(`${root}/usr/bin/hard-a`, 'shared inode');
  linkSync(`${root}/usr/bin/hard-a`, `${root}/usr/bin/hard-b`);
  execFileSync('mkfifo', ['-m', '0640', `${root}/run/initctl`]);
  writeFileSync(`${root}/home/user/notes.txt`, 'mine');
  chownSync(`${root}/home/user`, 1000, 1000);
  chownSync(`${root}/home/user/notes.txt`, 1000, 1000);
  const deep = `${root}/usr/share/${'very-long-directory-name/'.repeat(5)}`;
  mkdirSync(deep, { recursive: true });
  writeFileSync(`${deep}/file-with-a-long-name.txt`, 'deep');
  writeFileSync(`${root}/usr/share/café-Ω.txt`, 'unicode');
  writeFileSync(`${root}/usr/share/blob.bin`, Buffer.alloc(3 * 1024 * 1024 + 123, 7));
  writeFileSync(`${root}/usr/bin/ping`, 'ping');
  execFileSync('setfattr', ['-n', 'security.capability', '-v', `0x${NET_RAW_CAPABILITY.toString('hex')}`, `${root}/usr/bin/ping`]);
}

/** The security.capability of `path`, hex, or null. */
export function capabilityOf(path: string): string | null {
  const out = execFileSync('getfattr', ['--absolute-names', '-d', '-m', '^security\\.capability$', '-e', 'hex', path], { encoding: 'utf8' });
  const match = /security\.capability=0x([0-9a-f]+)/.exec(out);
  return match ? match[1] : null;
}
