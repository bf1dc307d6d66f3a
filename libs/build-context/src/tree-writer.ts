import { closeSync, constants, fchmodSync, fchownSync, futimesSync, lstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ArchiveError, UnsafeArchiveError } from '@cargohold/oci';
import { lstatOrNull, readFileNoFollow } from './fs-util';
import { basenameRel, cleanRelative, components, dirnameRel, joinRel } from '@cargohold/context-index';

export interface Identity {
  uid: number;
  gid: number;
}

/** One thing to create below the writer's root. */
export interface TreeEntry {
  /** Clean root-relative path, never empty. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  /** Permission bits with setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** Symlink target as stored, or the hard link's root-relative target. */
  linkname?: string;
}

export interface TreeWriterOptions {
  /** An existing directory; nothing is ever created, changed or removed outside it. */
  root: string;
  /**
   * Symlinks on the way to an entry: `refuse` any of them (a build context never has a file under
   * a link), or `scope`: follow those that were there before, with the root acting as `/` (moby's
   * chrooted untar), while a link this writer made is refused as a parent.
   */
  parents: 'refuse' | 'scope';
  /** `keep`: leave the owner as created; `header`: the entry's uid/gid; or one fixed identity. */
  owner: 'keep' | 'header' | Identity;
  /** Permission bits forced on every file and directory written (COPY --chmod). */
  chmod?: number;
  /** Owner of directories created only because an entry lies below them. */
  parentOwner?: Identity;
  /** Refuse relative symlink targets that climb out of the root (moby's "invalid symlink"). */
  checkSymlinkTargets: boolean;
  /** Names the tree in messages: `build context`, `archive /src/app.tar`. */
  label: string;
  /** Names the root in messages: `build context`, `destination`. */
  rootName: string;
}

const IMPLICIT_DIR_MODE = 0o755;
const MAX_SYMLINK_HOPS = 255;
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Files up to this size are copied synchronously; larger ones stream, so the event loop keeps turning. */
const SYNC_COPY_MAX_BYTES = 1024 * 1024;
/** Shared by every synchronous copy: nothing else runs between its read and its write. */
const copyBuffer = Buffer.allocUnsafe(256 * 1024);

/**
 * Writes entries (from a tar or a source tree) below one root with tar -x semantics: a later entry
 * replaces an earlier one unless both are directories, parents are created as needed, directory
 * times are set last. Every write goes to a path whose parents were checked to be real directories
 * below the root, and files are opened with O_EXCL|O_NOFOLLOW, so no symlink, planted before or by
 * an earlier entry, can carry a write outside the root.
 */
export class TreeWriter {
  /** Verified parent directories: entry-relative path → host path. */
  private readonly dirs = new Map<string, string>();
  /** Root-relative paths (symlinks resolved) of the symlinks this writer created. */
  private readonly madeLinks = new Set<string>();
  private readonly dirTimes: { host: string; mtime: Date }[] = [];

  constructor(private readonly options: TreeWriterOptions) {}

  async directory(entry: TreeEntry): Promise<void> {
    const host = await this.prepare(entry, true);
    const existing = await lstatOrNull(host);
    if (existing === null) await mkdir(host, { mode: 0o700 });
    await this.chown(host, entry);
    await chmod(host, this.modeOf(entry));
    this.dirTimes.push({ host, mtime: entry.mtime });
  }

  /**
   * Writes a regular file from `content`; returns its size. The file's own system calls are
   * synchronous: a build context is thousands of small files, and a thread-pool round trip per
   * open, write, chmod, utimes and close cost five times the calls themselves. The event loop
   * still turns between chunks of content.
   */
  async file(entry: TreeEntry, content: AsyncIterable<Buffer>): Promise<number> {
    const host = await this.prepare(entry, false);
    const fd = openSync(host, CREATE_FILE, 0o600);
    let size = 0;
    try {
      for await (const chunk of content) {
        size += chunk.length;
        let written = 0;
        while (written < chunk.length) written += writeSync(fd, chunk, written);
      }
      this.settle(fd, entry);
    } finally {
      closeSync(fd);
    }
    return size;
  }

  /**
   * Writes a regular file copied from the file at `source` (never through a final symlink), whose
   * size was `size` when it was looked at. Small files are copied with synchronous calls through
   * one shared buffer: for the thousands of small files of a COPY, async reads cost a thread-pool
   * round trip each, and a fresh buffer per file made the garbage collector the biggest cost.
   */
  async copyFile(entry: TreeEntry, source: string, size: number): Promise<number> {
    if (size > SYNC_COPY_MAX_BYTES) return this.file(entry, readFileNoFollow(source));
    const host = await this.prepare(entry, false);
    const input = openSync(source, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const fd = openSync(host, CREATE_FILE, 0o600);
      try {
        let copied = 0;
        for (;;) {
          const read = readSync(input, copyBuffer, 0, copyBuffer.length, copied);
          if (read === 0) break;
          let written = 0;
          while (written < read) written += writeSync(fd, copyBuffer, written, read - written);
          copied += read;
        }
        this.settle(fd, entry);
        return copied;
      } finally {
        closeSync(fd);
      }
    } finally {
      closeSync(input);
    }
  }

  /** Owner, mode and times of a file just written. */
  private settle(fd: number, entry: TreeEntry): void {
    // Owner first: chown(2) clears setuid/setgid bits that chmod has set.
    const owner = this.ownerOf(entry);
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, this.modeOf(entry));
    futimesSync(fd, entry.mtime, entry.mtime);
  }

  async symlink(entry: TreeEntry): Promise<void> {
    const target = entry.linkname ?? '';
    if (this.options.checkSymlinkTargets && !target.startsWith('/')) {
      if (cleanRelative(joinRel(dirnameRel(entry.path), target)) === null) {
        throw this.unsafe(`is a symlink to "${target}", which points outside the ${this.options.rootName}`, entry.path);
      }
    }
    const host = await this.prepare(entry, false);
    await symlink(target, host);
    // Kept by where it really is: its parents may have been reached through older links.
    this.madeLinks.add(relative(this.options.root, host));
    await this.chown(host, entry);
    await lutimes(host, entry.mtime, entry.mtime);
  }

  /** A hard link to an entry already written below the root (never a directory, never outside). */
  async hardlink(entry: TreeEntry): Promise<void> {
    const linkname = entry.linkname ?? '';
    const targetRel = cleanRelative(linkname);
    if (targetRel === null || targetRel === '') {
      throw this.unsafe(`is a hard link to "${linkname}", which is outside the ${this.options.rootName}`, entry.path);
    }
    if (targetRel === entry.path) throw this.unsafe(`is a hard link to itself`, entry.path);
    const targetParent = await this.parentDir(targetRel, entry.path, false);
    const targetHost = join(targetParent, basenameRel(targetRel));
    const target = await lstatOrNull(targetHost);
    if (target === null) {
      throw this.unsafe(`is a hard link to "${linkname}", which does not exist in the ${this.options.rootName}`, entry.path);
    }
    if (target.isDirectory()) {
      throw this.unsafe(`is a hard link to the directory "${linkname}"`, entry.path);
    }
    const host = await this.prepare(entry, false);
    await link(targetHost, host);
  }

  /** Sets directory times, deepest first, once nothing more is written into them. */
  async finish(): Promise<void> {
    for (const { host, mtime } of this.dirTimes.reverse()) {
      // A directory replaced by a later entry has nothing left to date.
      await lutimes(host, mtime, mtime).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    this.dirTimes.length = 0;
  }

  private unsafe(what: string, entry: string): UnsafeArchiveError {
    return new UnsafeArchiveError(`${this.options.label} entry "${entry}" ${what}`, entry);
  }

  private modeOf(entry: TreeEntry): number {
    return (this.options.chmod ?? entry.mode) & 0o7777;
  }

  private ownerOf(entry: TreeEntry): Identity | null {
    const owner = this.options.owner;
    if (owner === 'keep') return null;
    if (owner === 'header') return { uid: entry.uid, gid: entry.gid };
    return owner;
  }

  private async chown(host: string, entry: TreeEntry): Promise<void> {
    const owner = this.ownerOf(entry);
    if (owner) await lchown(host, owner.uid, owner.gid);
  }

  /**
   * The host path `entry` is written to, its parents made real directories, and whatever stands
   * there removed unless both it and the entry are directories.
   */
  private async prepare(entry: TreeEntry, keepDirectory: boolean): Promise<string> {
    const parent = await this.parentDir(entry.path, entry.path, true);
    const host = join(parent, basenameRel(entry.path));
    const existing = lstatSync(host, { throwIfNoEntry: false }) ?? null;
    if (existing === null || (keepDirectory && existing.isDirectory())) return host;
    // A directory that becomes something else takes what was below it along (tar -x, moby).
    if (existing.isDirectory()) await rm(host, { recursive: true, force: true });
    else unlinkSync(host);
    this.dirs.clear();
    this.madeLinks.delete(relative(this.options.root, host));
    return host;
  }

  /** Host path of the directory holding `rel`, created (or only checked) on the way. */
  private async parentDir(rel: string, entry: string, create: boolean): Promise<string> {
    const dir = dirnameRel(rel);
    const known = this.dirs.get(dir);
    if (known !== undefined) return known;
    const host =
      this.options.parents === 'refuse' ? await this.walkStrict(dir, entry, create) : await this.walkScoped(dir, entry, create);
    this.dirs.set(dir, host);
    return host;
  }

  private async walkStrict(dir: string, entry: string, create: boolean): Promise<string> {
    let host = this.options.root;
    let sofar = '';
    for (const part of components(dir)) {
      sofar = joinRel(sofar, part);
      host = join(host, part);
      await this.stepInto(host, sofar, entry, create, () => {
        throw this.unsafe(`would be written through the symlink "${sofar}"`, entry);
      });
    }
    return host;
  }

  /** Follows symlinks that were already there without leaving the root (FollowSymlinkInScope). */
  private async walkScoped(dir: string, entry: string, create: boolean): Promise<string> {
    let done: string[] = [];
    let todo = components(dir);
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      done.push(part);
      const sofar = done.join('/');
      const host = join(this.options.root, ...done);
      const target = await this.stepInto(host, sofar, entry, create, async () => {
        if (this.madeLinks.has(sofar)) throw this.unsafe(`would be written through the symlink "${sofar}" it created`, entry);
        if (++hops > MAX_SYMLINK_HOPS) throw this.unsafe(`lies below too many levels of symbolic links`, entry);
        return readlink(host);
      });
      if (target === undefined) continue;
      done.pop();
      if (target.startsWith('/')) done = [];
      todo = [...target.split('/'), ...todo];
    }
    return join(this.options.root, ...done);
  }

  /**
   * Makes sure `host` is a real directory (creating it when allowed); a symlink is handed to
   * `onSymlink`, whose answer (the link's target) is returned.
   */
  private async stepInto(
    host: string,
    sofar: string,
    entry: string,
    create: boolean,
    onSymlink: () => Promise<string>,
  ): Promise<string | undefined> {
    const stats = await lstatOrNull(host);
    if (stats === null) {
      if (!create) {
        throw this.unsafe(`refers to "${sofar}", which does not exist in the ${this.options.rootName}`, entry);
      }
      await this.mkdirImplicit(host);
      return undefined;
    }
    if (stats.isDirectory()) return undefined;
    if (stats.isSymbolicLink()) return onSymlink();
    throw new ArchiveError(`${this.options.label} entry "${entry}" cannot be created: "${sofar}" is not a directory`, entry);
  }

  private async mkdirImplicit(host: string): Promise<void> {
    await mkdir(host, { mode: 0o700 });
    const owner = this.options.parentOwner;
    if (owner) await lchown(host, owner.uid, owner.gid);
    await chmod(host, IMPLICIT_DIR_MODE);
  }
}
