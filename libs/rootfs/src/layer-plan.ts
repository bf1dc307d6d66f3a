import type { Change } from './changes';
import { changePathToRelative } from './changes';
import { ancestorsOf, compareUtf8 } from './paths';

/** One tar entry (or whiteout) a layer will hold, in the order it is written. */
export interface LayerPlanItem {
  /** Root-relative path. */
  path: string;
  /** Write `dir/.wh.<base>` instead of the file. */
  whiteout: boolean;
  /** Also deleted: a directory here is opaque (`<path>/.wh..wh..opq` follows it). */
  replaced: boolean;
}

/**
 * The entries of the layer for `changes`, sorted by path in UTF-8 byte order (so parents come
 * before children):
 * - every added or modified path, and every directory above it or above a deletion (with its
 *   current metadata, as moby's ExportChanges gets them from ChangesDirs);
 * - a whiteout for every deleted path that is not written again, unless a directory above it
 *   was itself deleted or replaced (that whiteout or opaque directory already removes it);
 * - a path both deleted and added is written and marked `replaced`.
 */
export function planLayer(changes: readonly Change[]): LayerPlanItem[] {
  const present = new Set<string>();
  const deleted = new Set<string>();
  for (const change of changes) {
    const path = changePathToRelative(change.path);
    if (change.kind === 'delete') deleted.add(path);
    else present.add(path);
  }
  const written = new Set<string>();
  const add = (path: string): void => {
    written.add(path);
    for (const ancestor of ancestorsOf(path)) written.add(ancestor);
  };
  for (const path of present) add(path);
  const whiteouts: string[] = [];
  for (const path of deleted) {
    if (written.has(path)) continue;
    if (ancestorsOf(path).some((ancestor) => deleted.has(ancestor))) continue;
    whiteouts.push(path);
  }
  for (const path of whiteouts) for (const ancestor of ancestorsOf(path)) written.add(ancestor);

  const items: LayerPlanItem[] = [];
  for (const path of written) items.push({ path, whiteout: false, replaced: deleted.has(path) });
  for (const path of whiteouts) items.push({ path, whiteout: true, replaced: false });
  return items.sort((a, b) => compareUtf8(a.path, b.path));
}
