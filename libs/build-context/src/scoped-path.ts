import type { Stats } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { lstatOrNull } from './fs-util';
import { components, joinRel } from './paths';

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

export interface ResolvedPath {
  /** Root-relative, symlink-free path (`` for the root itself). */
  rel: string;
  /** `root` joined with `rel`. */
  hostPath: string;
  /** lstat of the resolved path; null when it does not exist. */
  stats: Stats | null;
}

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
 * Resolves the clean relative path `rel` below `root`, following symlinks by `policy`. With
 * `followLast: false` a final symlink is left as it is (as lstat would see it). Components past a
 * missing one are kept as written.
 */
export async function resolveBelow(
  root: string,
  rel: string,
  policy: SymlinkPolicy,
  options: { followLast?: boolean } = {},
): Promise<ResolvedPath> {
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

    const stats = await lstatOrNull(join(root, ...done));
    if (stats === null) {
      missing = true;
      continue;
    }
    if (!stats.isSymbolicLink()) continue;

    const link = done.join('/');
    if (++hops > MAX_SYMLINK_HOPS) throw new SymlinkLoopError(link);
    const target = await readlink(join(root, ...done));
    lastLink = { link, target };
    done.pop();
    if (target.startsWith('/')) {
      if (policy === 'contain') throw new SymlinkEscapeError(link, target);
      done = [];
    }
    todo = [...target.split('/'), ...todo];
  }

  const resolved = joinRel(...done);
  const hostPath = join(root, ...done);
  return { rel: resolved, hostPath, stats: missing ? null : await lstatOrNull(hostPath) };
}
