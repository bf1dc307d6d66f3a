import type { BigIntStats } from 'node:fs';

export type FileType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** What a snapshot remembers of one path (from one bigint lstat, plus readlink for symlinks). */
export interface FileState {
  type: FileType;
  /** Permission bits with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  /** Creation time (statx btime); 0 where the filesystem does not record it. */
  birthtimeNs: bigint;
  rdev: number;
  /** Symlinks only. */
  target?: string;
}

export function fileTypeOf(stats: BigIntStats): FileType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isFIFO()) return 'fifo';
  return 'socket';
}

export function fileStateOf(stats: BigIntStats, target?: string): FileState {
  const state: FileState = {
    type: fileTypeOf(stats),
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    size: Number(stats.size),
    mtimeNs: stats.mtimeNs,
    ctimeNs: stats.ctimeNs,
    ino: stats.ino,
    birthtimeNs: stats.birthtimeNs,
    rdev: Number(stats.rdev),
  };
  if (target !== undefined) state.target = target;
  return state;
}

/**
 * Whether `after` is another file than `before` (deleted and recreated), not the same file
 * changed: a new inode number, or, where the filesystem records it, a new creation time (an inode
 * number can be reused at once after a delete).
 */
export function isReplaced(before: FileState, after: FileState): boolean {
  if (before.ino !== after.ino) return true;
  return before.birthtimeNs !== 0n && after.birthtimeNs !== 0n && before.birthtimeNs !== after.birthtimeNs;
}

/**
 * Whether a path of the same type changed. Directories compare only their own metadata (mode,
 * owner): their size, mtime and ctime move whenever a child is added or removed, which the
 * children's own changes already tell. Everything else also compares size, mtime and ctime in
 * nanoseconds, identity (inode), device number and symlink target; ctime catches a command that
 * puts an mtime back, a chown to the same owner or a new hardlink.
 */
export function isModified(before: FileState, after: FileState): boolean {
  if (before.mode !== after.mode || before.uid !== after.uid || before.gid !== after.gid) return true;
  if (after.type === 'directory') return false;
  return (
    before.size !== after.size ||
    before.mtimeNs !== after.mtimeNs ||
    before.ctimeNs !== after.ctimeNs ||
    isReplaced(before, after) ||
    before.rdev !== after.rdev ||
    before.target !== after.target
  );
}

/** Linux's encoding of a device number (glibc's major()/minor()). */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}
