/**
 * .dockerignore with moby/patternmatcher semantics (and moby/patternmatcher/ignorefile for reading
 * the file): Go filepath.Match syntax (`*`, `?`, `[a-z]`, `[^a]`, `\` escapes), `**` for any number
 * of directories, `!` exceptions where the last matching pattern wins, and a pattern matching a
 * parent directory matching everything below it.
 *
 * The Dockerfile and .dockerignore are never excluded from what the builder reads: that is the
 * caller's job (the patterns here would happily match them).
 */
import { DockerignoreError } from './errors';
import { goPathClean, goTrimSpace } from './go-compat';

/**
 * Reads a .dockerignore: drops a UTF-8 BOM, lines starting with `#` (at column 0) and blank lines;
 * trims each pattern, cleans it as a path (`./a//b/` → `a/b`) and drops a leading `/`, keeping a
 * leading `!`.
 */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const rawLine of lines) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith('#')) continue;
    let pattern = goTrimSpace(line);
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) pattern = stripLeadingSlash(goPathClean(pattern));
    patterns.push(invert ? '!' + pattern : pattern);
  }
  return patterns;
}

function stripLeadingSlash(p: string): string {
  return p.length > 1 && p.startsWith('/') ? p.slice(1) : p;
}

export interface IgnoreMatcher {
  /** True when the context-relative, slash-separated path is excluded. `.` is never excluded. */
  ignores(path: string): boolean;
  /**
   * For an excluded directory: whether it must still be walked because an exception pattern names
   * something inside it. This is dockerd/CLI's rule: some `!pattern` starts with `dir/` literally
   * (so `!dir/keep` or `!dir/*.go` reopen `dir`, but `!**\/keep` reopens nothing).
   */
  mayContainExceptions(dir: string): boolean;
}

type MatchKind = 'exact' | 'prefix' | 'suffix' | 'regexp';

interface CompiledPattern {
  text: string;
  exclusion: boolean;
  kind: MatchKind;
  regexp?: RegExp;
}

/**
 * Compiles patterns (as parseDockerignore returns them). Throws DockerignoreError for `!` alone
 * (`illegal exclusion pattern: "!"`) and for malformed patterns (`syntax error in pattern`).
 */
export function createIgnoreMatcher(patterns: readonly string[]): IgnoreMatcher {
  const compiled: CompiledPattern[] = [];
  for (const raw of patterns) {
    let p = goTrimSpace(raw);
    if (p === '') continue;
    p = goPathClean(p);
    let exclusion = false;
    if (p.startsWith('!')) {
      if (p.length === 1) throw new DockerignoreError('illegal exclusion pattern: "!"', raw);
      exclusion = true;
      p = p.slice(1);
    }
    p = stripLeadingSlash(p);
    if (!isValidGlob(p)) throw new DockerignoreError('syntax error in pattern', raw);
    compiled.push({ text: p, exclusion, ...compilePattern(p, raw) });
  }
  const hasExclusions = compiled.some((c) => c.exclusion);
  return {
    ignores: (path) => matchesOrParentMatches(compiled, path),
    mayContainExceptions: (dir) => hasExclusions && exceptionUnder(compiled, dir),
  };
}

function normalizePath(path: string): string {
  return stripLeadingSlash(goPathClean(path));
}

function matchesOrParentMatches(patterns: CompiledPattern[], path: string): boolean {
  const file = normalizePath(path);
  // Excluding the whole context is not something a pattern can do.
  if (file === '.') return false;
  const slash = file.lastIndexOf('/');
  const parentDirs = slash < 0 ? [] : file.slice(0, slash).split('/');
  let matched = false;
  for (const pattern of patterns) {
    // An inclusion only matters while unmatched, an exception only while matched.
    if (pattern.exclusion !== matched) continue;
    let match = matchOne(pattern, file);
    for (let i = 0; !match && i < parentDirs.length; i++) {
      match = matchOne(pattern, parentDirs.slice(0, i + 1).join('/'));
    }
    if (match) matched = !pattern.exclusion;
  }
  return matched;
}

function exceptionUnder(patterns: CompiledPattern[], dir: string): boolean {
  const dirSlash = normalizePath(dir) + '/';
  return patterns.some((p) => p.exclusion && (p.text + '/').startsWith(dirSlash));
}

function matchOne(pattern: CompiledPattern, path: string): boolean {
  switch (pattern.kind) {
    case 'exact':
      return path === pattern.text;
    case 'prefix':
      return path.startsWith(pattern.text.slice(0, -2));
    case 'suffix': {
      const suffix = pattern.text.slice(2);
      // `**/foo` also matches `foo` at the top.
      return path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
    }
    case 'regexp':
      return (pattern.regexp as RegExp).test(path);
  }
}

const REGEX_SPECIAL = '.+()|{}$';
const JS_SYNTAX = '^$\\.*+?()[]{}|/';

/**
 * patternmatcher's translation: literal patterns compare as strings, `dir/**` as a prefix, `**\/x`
 * as a suffix; anything with wildcards, classes or escapes becomes an anchored regexp.
 */
function compilePattern(pattern: string, raw: string): { kind: MatchKind; regexp?: RegExp } {
  const chars = Array.from(pattern);
  let re = '^';
  let kind: MatchKind = 'exact';
  let inClass = false;
  for (let i = 0, pos = 0; pos < chars.length; i++) {
    const ch = chars[pos++];
    if (ch === '*' && chars[pos] === '*') {
      pos++;
      if (chars[pos] === '/') pos++;
      if (pos >= chars.length) {
        if (kind === 'exact') kind = 'prefix';
        else {
          re += '.*';
          kind = 'regexp';
        }
      } else {
        re += '(.*/)?';
        kind = 'regexp';
      }
      if (i === 0) kind = 'suffix';
    } else if (ch === '*') {
      re += '[^/]*';
      kind = 'regexp';
    } else if (ch === '?') {
      re += '[^/]';
      kind = 'regexp';
    } else if (REGEX_SPECIAL.includes(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      re += escapedLiteral(chars[pos++], inClass);
      kind = 'regexp';
    } else if (ch === '[' || ch === ']') {
      // A `]` outside a class is literal for Go; a Unicode-mode JS regexp needs it escaped.
      re += ch === ']' && !inClass ? '\\]' : ch;
      inClass = ch === '[';
      kind = 'regexp';
    } else {
      re += ch;
    }
  }
  if (kind !== 'regexp') return { kind };
  try {
    return { kind, regexp: new RegExp(re + '$', 'u') };
  } catch {
    // e.g. a reversed range `[z-a]`: dockerd fails on it as a bad pattern too.
    throw new DockerignoreError('syntax error in pattern', raw);
  }
}

/** `\x` in a pattern means a literal x; written so a Unicode-mode JS regexp accepts it. */
function escapedLiteral(ch: string, inClass: boolean): string {
  if (JS_SYNTAX.includes(ch)) return '\\' + ch;
  if (ch === '-') return inClass ? '\\-' : '-';
  return ch;
}

/** Go filepath.Match's syntax check: a trailing `\`, or a malformed `[...]` class, is an error. */
function isValidGlob(pattern: string): boolean {
  const c = Array.from(pattern);
  let i = 0;
  const readClassChar = (): boolean => {
    if (i >= c.length || c[i] === '-' || c[i] === ']') return false;
    if (c[i] === '\\') {
      i++;
      if (i >= c.length) return false;
    }
    i++;
    return i < c.length;
  };
  while (i < c.length) {
    if (c[i] === '\\') {
      if (i + 1 >= c.length) return false;
      i += 2;
      continue;
    }
    if (c[i] !== '[') {
      i++;
      continue;
    }
    i++;
    if (c[i] === '^') i++;
    for (let ranges = 0; ; ranges++) {
      if (c[i] === ']' && ranges > 0) {
        i++;
        break;
      }
      if (!readClassChar()) return false;
      if (c[i] === '-') {
        i++;
        if (!readClassChar()) return false;
      }
    }
  }
  return true;
}
