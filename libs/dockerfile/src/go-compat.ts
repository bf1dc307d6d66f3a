/**
 * Small re-statements of Go standard-library behaviour that Docker's messages and parsing rely on
 * (unicode.IsSpace, strings.TrimSpace, %q quoting, time.ParseDuration, strconv.ParseInt,
 * path.Clean), so results and error texts match dockerd's.
 */

// unicode.IsSpace: ASCII \t\n\v\f\r and space, U+0085, U+00A0, and the Z categories.
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

export function isGoSpace(ch: string): boolean {
  return ch.length > 0 && GO_SPACE.test(ch);
}

export function goTrimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isGoSpace(s[i])) i++;
  return s.slice(i);
}

export function goTrimRightSpace(s: string): string {
  let j = s.length;
  while (j > 0 && isGoSpace(s[j - 1])) j--;
  return s.slice(0, j);
}

/** strings.TrimSpace (JS trim() also strips U+FEFF, which Go keeps). */
export function goTrimSpace(s: string): string {
  return goTrimRightSpace(goTrimLeftSpace(s));
}

const PRINTABLE = /[\p{L}\p{M}\p{N}\p{P}\p{S} ]/u;

/** fmt's %q: a double-quoted Go string literal with Go's escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    out += quoteRune(ch);
  }
  return out + '"';
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
  '"': '\\"',
};

function quoteRune(ch: string): string {
  const simple = SIMPLE_ESCAPES[ch];
  if (simple) return simple;
  if (PRINTABLE.test(ch)) return ch;
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x80) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** Levenshtein distance over code points, unit costs (agext/levenshtein defaults). */
export function levenshtein(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = cur;
  }
  return prev[t.length];
}

function matchCase(value: string, original: string): string {
  if (original === original.toLowerCase()) return value.toLowerCase();
  if (original === original.toUpperCase()) return value.toUpperCase();
  return value;
}

/**
 * BuildKit's suggest.Search: the closest option within edit distance 2, or undefined when the
 * value is itself an option (the error is then about something else).
 */
export function suggest(value: string, options: readonly string[], caseSensitive: boolean): string | undefined {
  const val = caseSensitive ? value : value.toLowerCase();
  let match: string | undefined;
  let minDistance = 3;
  for (const option of options) {
    const opt = caseSensitive ? option : option.toLowerCase();
    if (opt === val) return undefined;
    const distance = levenshtein(val, opt);
    if (distance < minDistance) {
      match = caseSensitive ? opt : matchCase(opt, value);
      minDistance = distance;
    }
  }
  return match;
}

/** Appends BuildKit's ` (did you mean x?)` when a close option exists. */
export function withSuggestion(message: string, value: string, options: readonly string[], caseSensitive: boolean): string {
  const match = suggest(value, options, caseSensitive);
  return match === undefined ? message : `${message} (did you mean ${match}?)`;
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n,
  '\u03bcs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_INT64 = (1n << 63n) - 1n;

function isAsciiDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/** time.ParseDuration, returning nanoseconds; throws Go's error text. */
export function parseGoDuration(input: string): number {
  const invalid = () => new Error(`time: invalid duration ${goQuote(input)}`);
  let s = input;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isAsciiDigit(s[0]))) throw invalid();
    let i = 0;
    while (isAsciiDigit(s[i])) i++;
    const intDigits = s.slice(0, i);
    s = s.slice(i);
    let fracDigits = '';
    if (s[0] === '.') {
      let j = 1;
      while (isAsciiDigit(s[j])) j++;
      fracDigits = s.slice(1, j);
      s = s.slice(j);
      if (intDigits === '' && fracDigits === '') throw invalid();
    } else if (intDigits === '') {
      throw invalid();
    }
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isAsciiDigit(s[u])) u++;
    if (u === 0) throw new Error(`time: missing unit in duration ${goQuote(input)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = DURATION_UNITS[unitName];
    if (unit === undefined) throw new Error(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(input)}`);
    const whole = BigInt(intDigits === '' ? '0' : intDigits) * unit;
    // Go keeps fractional nanoseconds' integer part (truncation).
    const frac = fracDigits === '' ? 0n : (BigInt(fracDigits) * unit) / 10n ** BigInt(fracDigits.length);
    total += whole + frac;
    if (total > MAX_INT64 + (negative ? 1n : 0n)) throw invalid();
  }
  return Number(negative ? -total : total);
}

/** strconv.ParseInt(s, 10, 32) with Go's error text. */
export function parseGoInt32(s: string): number {
  const prefix = `strconv.ParseInt: parsing ${goQuote(s)}`;
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`${prefix}: invalid syntax`);
  const value = BigInt(s);
  if (value > 2147483647n || value < -2147483648n) throw new Error(`${prefix}: value out of range`);
  return Number(value);
}

/** path.Clean: the shortest lexically equivalent slash path. */
export function goPathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}
