import { posix } from 'node:path';

export type CleanPath = { ok: true; path: string } | { ok: false; reason: 'absolute' | 'escapes' };

/**
 * A tar entry name as a clean root-relative path (`./a//b/../c/` → `a/c`, `./` → ``). Absolute names
 * and names that climb out of the root are refused.
 */
export function cleanEntryPath(name: string): CleanPath {
  if (name.startsWith('/')) return { ok: false, reason: 'absolute' };
  const normalized = posix.normalize(name);
  if (normalized === '..' || normalized.startsWith('../')) return { ok: false, reason: 'escapes' };
  const path = normalized === '.' || normalized === './' ? '' : normalized.replace(/\/+$/, '');
  return { ok: true, path };
}

/** `a/b/c` → [`a`, `a/b`]: the directories a path runs through. */
export function parentPaths(path: string): string[] {
  const out: string[] = [];
  let at = path.indexOf('/');
  while (at > 0) {
    out.push(path.slice(0, at));
    at = path.indexOf('/', at + 1);
  }
  return out;
}

export function describeUnsafePath(reason: 'absolute' | 'escapes'): string {
  return reason === 'absolute' ? 'is an absolute path' : 'climbs out of the root with ".."';
}
