import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { compareNames, components, type ContextIndex, joinRel } from '@cargohold/context-index';
import { isMissing } from './fs-util';

/** What COPY/ADD source resolution needs to know of one path. */
export interface TreeNode {
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  /** Permission bits with setuid/setgid/sticky (0o7777). */
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  /** sha256 (hex) of a file's content, when already known. */
  readonly digest?: string;
}

/**
 * A read-only view of a directory tree by clean relative paths: the files on disk, or a build
 * context's index (the same tree before it is extracted). Synchronous: resolving sources asks
 * thousands of small questions, and a thread-pool round trip each cost far more than the answers.
 */
export interface SourceTree {
  /** The host directory the tree is (or, for an index, will be once extracted) at. */
  readonly root: string;
  /** The entry at `rel` without following a final symlink; null when there is none. */
  lstat(rel: string): TreeNode | null;
  /** Names in the directory at `rel`, in byte order; null when it is not a directory. */
  readdir(rel: string): readonly string[] | null;
  readlink(rel: string): string;
}

/** The tree below a directory on this machine. */
export class DiskTree implements SourceTree {
  constructor(readonly root: string) {}

  lstat(rel: string): TreeNode | null {
    const stats = lstatSync(join(this.root, rel), { throwIfNoEntry: false });
    if (!stats) return null;
    const type = stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : stats.isFile() ? 'file' : 'other';
    return { type, mode: stats.mode & 0o7777, size: type === 'file' ? stats.size : 0, mtimeMs: stats.mtimeMs };
  }

  readdir(rel: string): readonly string[] | null {
    try {
      return readdirSync(join(this.root, rel)).sort(compareNames);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  readlink(rel: string): string {
    return readlinkSync(join(this.root, rel));
  }
}

/** A build context as its index describes it, to be extracted at `root` if a step needs its files. */
export class IndexTree implements SourceTree {
  constructor(
    private readonly index: ContextIndex,
    readonly root: string,
  ) {}

  lstat(rel: string): TreeNode | null {
    return this.index.get(rel);
  }

  readdir(rel: string): readonly string[] | null {
    return this.index.list(rel);
  }

  readlink(rel: string): string {
    const target = this.index.get(rel)?.linkTarget;
    if (target === undefined) throw new Error(`${rel} is not a symlink in the build context`);
    return target;
  }
}

/** Linux gives up after 40 links in one lookup; moby's FollowSymlinkInScope after 255. */
const MAX_SYMLINK_HOPS = 255;

/**
 * How symlinks met while resolving a path below a root are treated:
 * - `scope`: as moby's FollowSymlinkInScope does for a container rootfs: the root acts as `/`,
 *   so an absolute target restarts at the root and `..` stops there. Nothing resolves outside.
 * - `contain`: for the build context: a link is followed only while it stays inside; an absolute
 *   target, or one that climbs above the root, is an escape.
 */
export type SymlinkPolicy = 'scope' | 'contain';

/** A symlink that leads outside the root under the `contain` policy. */
export class SymlinkEscapeError extends Error {
  constructor(
    /** Root-relative path of the offending link. */
    readonly link: string,
    readonly target: string,
  ) {
    super(`symlink /${link} -> ${target} points outside the root`);
    this.name = 'SymlinkEscapeError';
  }
}

export class SymlinkLoopError extends Error {
  constructor(readonly path: string) {
    super(`too many levels of symbolic links resolving /${path}`);
    this.name = 'SymlinkLoopError';
  }
}

/**
 * Resolves the clean relative path `rel` in `tree`, following symlinks by `policy`. With
 * `followLast: false` a final symlink is left as it is (as lstat would see it). Components past a
 * missing one are kept as written. Returns the symlink-free path and its node (null: missing).
 */
export function resolveInTree(
  tree: SourceTree,
  rel: string,
  policy: SymlinkPolicy,
  options: { followLast?: boolean } = {},
): { rel: string; node: TreeNode | null } {
  const followLast = options.followLast ?? true;
  let done: string[] = [];
  let todo = components(rel);
  let hops = 0;
  let missing = false;
  let lastLink: { link: string; target: string } | null = null;

  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (done.length > 0) done.pop();
      // Only a link's target can bring `..` here: `rel` is clean.
      else if (policy === 'contain' && lastLink) throw new SymlinkEscapeError(lastLink.link, lastLink.target);
      continue;
    }
    done.push(part);
    if (missing || (todo.length === 0 && !followLast)) continue;

    const node = tree.lstat(done.join('/'));
    if (node === null) {
      missing = true;
      continue;
    }
    if (node.type !== 'symlink') continue;

    const link = done.join('/');
    if (++hops > MAX_SYMLINK_HOPS) throw new SymlinkLoopError(link);
    const target = tree.readlink(link);
    lastLink = { link, target };
    done.pop();
    if (target.startsWith('/')) {
      if (policy === 'contain') throw new SymlinkEscapeError(link, target);
      done = [];
    }
    todo = [...target.split('/'), ...todo];
  }

  const resolved = joinRel(...done);
  return { rel: resolved, node: missing ? null : tree.lstat(resolved) };
}
