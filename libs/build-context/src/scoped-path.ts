import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { lstatOrNull } from './fs-util';
import { DiskTree, resolveInTree, type SymlinkPolicy } from './source-tree';

export { SymlinkEscapeError, SymlinkLoopError, type SymlinkPolicy } from './source-tree';

export interface ResolvedPath {
  /** Root-relative, symlink-free path (`` for the root itself). */
  rel: string;
  /** `root` joined with `rel`. */
  hostPath: string;
  /** lstat of the resolved path; null when it does not exist. */
  stats: Stats | null;
}

/**
 * Resolves the clean relative path `rel` below the directory `root` on disk, following symlinks
 * by `policy` (see resolveInTree). With `followLast: false` a final symlink is left as it is.
 */
export async function resolveBelow(
  root: string,
  rel: string,
  policy: SymlinkPolicy,
  options: { followLast?: boolean } = {},
): Promise<ResolvedPath> {
  const resolved = resolveInTree(new DiskTree(root), rel, policy, options);
  const hostPath = join(root, resolved.rel);
  return { rel: resolved.rel, hostPath, stats: resolved.node === null ? null : await lstatOrNull(hostPath) };
}
