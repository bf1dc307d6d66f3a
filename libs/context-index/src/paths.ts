/**
 * A path as a clean list of components below a root: `./a//b/../c/` → `a/c`, `` for the root.
 * Leading `/` are dropped (absolute names count from the root, as moby's untar joins them onto
 * its destination); null when `..` climbs above the root.
 */
export function cleanRelative(name: string): string | null {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join('/');
}

/** The components of a clean relative path (`` → []). */
export function components(rel: string): string[] {
  return rel === '' ? [] : rel.split('/');
}

/** Joins clean relative paths. */
export function joinRel(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

/** `a/b/c` → `a/b`; `a` → ``. */
export function dirnameRel(rel: string): string {
  const at = rel.lastIndexOf('/');
  return at < 0 ? '' : rel.slice(0, at);
}

/** `a/b/c` → `c`. */
export function basenameRel(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** Code units from U+D800 up: only there does UTF-16 order differ from UTF-8 byte order. */
const SURROGATE_OR_ABOVE = /[\uD800-\uFFFF]/;

/** Byte-wise order of UTF-8 names, as Go sorts directory listings. */
export function compareNames(a: string, b: string): number {
  // Below U+D800, comparing UTF-16 code units orders names exactly as their UTF-8 bytes, without
  // encoding both for every comparison of a sort.
  if (!SURROGATE_OR_ABOVE.test(a) && !SURROGATE_OR_ABOVE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
