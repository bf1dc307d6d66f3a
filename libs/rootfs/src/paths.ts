import { posix } from 'node:path';

/** Prefix of a whiteout entry: `dir/.wh.name` deletes `dir/name` from the layers below. */
export const WHITEOUT_PREFIX = '.wh.';
/** Prefix of AUFS metadata entries at the top of a layer, which are not part of the tree. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
/** `dir/.wh..wh..opq` hides everything the layers below hold in `dir`. */
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

export type LayerName = { ok: true; path: string } | { ok: false };

/**
 * A tar entry name as a clean root-relative path, the way moby joins it onto the root:
 * `./a//b/../c/` → `a/c`, `./` → `` (the root), `/etc/x` → `etc/x`, `/../etc` → `etc` (an absolute
 * name cannot climb above `/`). A relative name that climbs out (`../x`, `a/../../x`) is refused.
 */
export function cleanLayerName(name: string): LayerName {
  if (name.startsWith('/')) {
    return { ok: true, path: posix.normalize(name).replace(/^\/+/, '').replace(/\/+$/, '') };
  }
  const normalized = posix.normalize(name === '' ? '.' : name);
  if (normalized === '..' || normalized.startsWith('../')) return { ok: false };
  if (normalized === '.' || normalized === './') return { ok: true, path: '' };
  return { ok: true, path: normalized.replace(/\/+$/, '') };
}

/** `a/b/c` → `a/b`; `a` → `` (the root). */
export function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at < 0 ? '' : path.slice(0, at);
}

/** `a/b/c` → `c`. */
export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `a/b/c` → [`a`, `a/b`]: the directories a root-relative path runs through. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  let at = path.indexOf('/');
  while (at > 0) {
    out.push(path.slice(0, at));
    at = path.indexOf('/', at + 1);
  }
  return out;
}

/**
 * Whether a relative symlink target, read from the symlink's own directory, climbs above the root
 * at any step. moby refuses such symlinks when it unpacks a layer; an absolute target is always
 * inside the root of the container that follows it.
 */
export function symlinkTargetEscapes(entryPath: string, target: string): boolean {
  if (target.startsWith('/')) return false;
  let depth = entryPath === '' ? 0 : entryPath.split('/').length - 1;
  for (const part of target.split('/')) {
    if (part === '..') {
      depth -= 1;
      if (depth < 0) return true;
    } else if (part !== '' && part !== '.') {
      depth += 1;
    }
  }
  return false;
}

/**
 * Orders strings by their UTF-8 bytes (what tar and Go's sort.Strings see) rather than by UTF-16
 * code units: surrogate pairs (code points above U+FFFF) sort after U+E000–U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
