import { RootfsError } from './errors';
import { isModified, isReplaced } from './file-state';
import type { FileState } from './file-state';
import { cleanLayerName, compareUtf8, parentOf } from './paths';

export type ChangeKind = 'add' | 'modify' | 'delete';

/**
 * One changed path, as moby's `archive.Change`: `path` is absolute inside the root ("/etc/passwd").
 * A directory that was deleted and created again (so nothing of the old one survives) is told as
 * a `delete` followed by an `add` of the same path; writeLayer turns that into an opaque directory.
 */
export interface Change {
  path: string;
  kind: ChangeKind;
}

const KIND_ORDER: Record<ChangeKind, number> = { delete: 0, add: 1, modify: 2 };

/** By path in UTF-8 byte order (parents before children); a delete before an add of the same path. */
export function compareChanges(a: Change, b: Change): number {
  return compareUtf8(a.path, b.path) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
}

/** `/a/b`, `a/b`, `./a/b/` → `a/b`. The root itself and paths with a `..` component are refused. */
export function changePathToRelative(path: string): string {
  const cleaned = cleanLayerName(path.startsWith('/') ? path : `/${path}`);
  if (!cleaned.ok || cleaned.path === '' || path.split('/').includes('..')) {
    throw new RootfsError(`change path "${path}" does not name a file inside the root`, path);
  }
  return cleaned.path;
}

/**
 * The changes that turn the tree `before` into the tree `after` (both keyed by root-relative
 * path, the root itself excluded):
 * - a path only in `after` is added, and so is everything under an added, recreated or
 *   type-changed directory;
 * - a path in both is modified when its type changed or isModified says so; a directory replaced
 *   by a new one is a delete followed by an add;
 * - a path only in `before` is deleted, unless one of its directories was deleted or replaced
 *   (that already removes it).
 * Directories are not listed just because something inside them changed.
 */
export function compareTrees(before: ReadonlyMap<string, FileState>, after: ReadonlyMap<string, FileState>): Change[] {
  const changes: Change[] = [];
  /** Directories of `after` whose whole content is new. */
  const fresh = new Set<string>();
  const paths = [...after.keys()].sort(compareUtf8);
  for (const path of paths) {
    const now = after.get(path) as FileState;
    const at = `/${path}`;
    const old = fresh.has(parentOf(path)) ? undefined : before.get(path);
    if (old === undefined) {
      changes.push({ path: at, kind: 'add' });
      if (now.type === 'directory') fresh.add(path);
    } else if (old.type !== now.type) {
      changes.push({ path: at, kind: 'modify' });
      if (now.type === 'directory') fresh.add(path);
    } else if (now.type === 'directory' && isReplaced(old, now)) {
      changes.push({ path: at, kind: 'delete' }, { path: at, kind: 'add' });
      fresh.add(path);
    } else if (isModified(old, now)) {
      changes.push({ path: at, kind: 'modify' });
    }
  }
  for (const path of before.keys()) {
    if (after.has(path)) continue;
    const parent = parentOf(path);
    // A parent that is gone, or is not the same directory any more, already accounts for it.
    const parentKept = parent === '' || (after.get(parent)?.type === 'directory' && !fresh.has(parent));
    if (parentKept) changes.push({ path: `/${path}`, kind: 'delete' });
  }
  return changes.sort(compareChanges);
}
