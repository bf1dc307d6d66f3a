import { realpath, stat } from 'node:fs/promises';
import type { Change } from './changes';
import { compareTrees } from './changes';
import { RootfsError, errnoCode } from './errors';
import { fileStateOf } from './file-state';
import type { FileState } from './file-state';
import { walkTree } from './walk';

/** The state of every path under a root (the root itself excluded), keyed by root-relative path. */
export interface Snapshot {
  /** The root, resolved (realpath). */
  readonly root: string;
  readonly entries: ReadonlyMap<string, FileState>;
}

/** The root as a real directory path, with a clear error for anything else. */
export async function resolveRoot(root: string, what: string): Promise<string> {
  try {
    const real = await realpath(root);
    if (!(await stat(real)).isDirectory()) throw new RootfsError(`${what} "${root}" is not a directory`);
    return real;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new RootfsError(`${what} "${root}" does not exist`);
    throw err;
  }
}

async function readTree(root: string): Promise<Map<string, FileState>> {
  const entries = new Map<string, FileState>();
  await walkTree(root, (entry) => entries.set(entry.path, fileStateOf(entry.stats, entry.target)));
  return entries;
}

/**
 * Records type, mode, owner, size, mtime and ctime (ns), inode, creation time and symlink target of
 * every path under `root`, following no symlink. Take it before a command runs; `diff` then tells
 * what the command changed.
 */
export async function snapshot(root: string): Promise<Snapshot> {
  const real = await resolveRoot(root, 'snapshot root');
  return { root: real, entries: await readTree(real) };
}

/**
 * What changed under `root` since `before` was taken of the same directory, as moby's
 * ChangesDirs reports it (paths absolute inside the root, sorted, parents first), except that a
 * directory is listed only when its own type, mode or owner changed, and a directory deleted and
 * created again is a `delete` plus an `add` (see compareTrees). writeLayer adds the parents.
 */
export async function diff(root: string, before: Snapshot): Promise<Change[]> {
  const real = await resolveRoot(root, 'diff root');
  return compareTrees(before.entries, await readTree(real));
}
