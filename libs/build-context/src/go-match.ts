/**
 * Go's `filepath.Match` syntax (Unix flavour), which COPY/ADD sources use for wildcards:
 * `*` any run of non-`/` characters, `?` one non-`/` character, `[…]`/`[^…]` a character class with
 * `lo-hi` ranges, and `\` escaping the next character. Patterns are matched one path component at
 * a time, which is what Go's matcher amounts to because no wildcard crosses a `/`.
 */

/** A compiled pattern component; `null` when Go would report ErrBadPattern (nothing matches then). */
export type ComponentMatcher = ((name: string) => boolean) | null;

/** Whether `pattern` holds an unescaped wildcard, as moby's `containsWildcards` decides it. */
export function containsWildcards(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** Compiles one path component of a pattern (it must not contain `/`). */
export function compileComponent(component: string): ComponentMatcher {
  const source = translate(Array.from(component));
  if (source === null) return null;
  const regex = new RegExp(`^${source}$`, 'u');
  return (name) => regex.test(name);
}

/** Go's `filepath.Match(pattern, name)` for whole `/`-separated paths (bad patterns match nothing). */
export function goMatch(pattern: string, name: string): boolean {
  const patternParts = pattern.split('/');
  const nameParts = name.split('/');
  if (patternParts.length !== nameParts.length) return false;
  return patternParts.every((part, i) => compileComponent(part)?.(nameParts[i]) ?? false);
}

const ANY_CHAR = '[^/]';

function literal(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

/** Turns pattern characters (code points) into a RegExp source, or null for a malformed pattern. */
function translate(chars: string[]): string | null {
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') {
      out += `${ANY_CHAR}*`;
    } else if (ch === '?') {
      out += ANY_CHAR;
    } else if (ch === '\\') {
      if (i + 1 >= chars.length) return null;
      out += literal(chars[++i]);
    } else if (ch === '[') {
      const cls = translateClass(chars, i + 1);
      if (cls === null) return null;
      out += cls.source;
      i = cls.end;
    } else {
      out += literal(ch);
    }
  }
  return out;
}

/** One class character: `\x` is x; an unescaped `-` or `]` is malformed (as in Go). */
function classChar(chars: string[], at: number): { ch: string; next: number } | null {
  const ch = chars[at];
  if (ch === undefined || ch === '-' || ch === ']') return null;
  if (ch === '\\') {
    const escaped = chars[at + 1];
    return escaped === undefined ? null : { ch: escaped, next: at + 2 };
  }
  return { ch, next: at + 1 };
}

/** Translates the class starting after `[`; returns its source and the index of its closing `]`. */
function translateClass(chars: string[], start: number): { source: string; end: number } | null {
  let at = start;
  const negated = chars[at] === '^';
  if (negated) at++;
  const ranges: string[] = [];
  let count = 0;
  for (;;) {
    if (chars[at] === ']' && count > 0) break;
    const lo = classChar(chars, at);
    if (lo === null) return null;
    at = lo.next;
    let hi = lo.ch;
    if (chars[at] === '-') {
      const upper = classChar(chars, at + 1);
      if (upper === null) return null;
      hi = upper.ch;
      at = upper.next;
    }
    count++;
    // A reversed range is legal in Go and simply matches nothing; a RegExp would reject it.
    if (lo.ch.codePointAt(0)! <= hi.codePointAt(0)!) ranges.push(`${literal(lo.ch)}-${literal(hi)}`);
  }
  const body = ranges.join('');
  if (negated) return { source: body ? `[^/${body}]` : ANY_CHAR, end: at };
  return { source: body ? `[${body}]` : '(?!)', end: at };
}
