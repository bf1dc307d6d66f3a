/**
 * Dockerfile word processing (quote removal, escapes, `$VAR` / `${VAR…}` expansion), with the
 * rules and error texts of BuildKit's `shell.Lex`, which dockerd runs on `--change` values.
 */

/** Looks a variable up; undefined when unset. */
export type EnvLookup = (name: string) => string | undefined;

/** Variables from `KEY=value` strings; a later entry for the same key wins. */
export function envLookupFrom(env: readonly string[]): EnvLookup {
  const values = new Map<string, string>();
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq < 0) values.set(entry, '');
    else values.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return (name) => values.get(name);
}

/** A word the lexer cannot process; the message is BuildKit's. */
export class ShellWordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellWordError';
  }
}

/** Go's `%q` for the strings that occur here (close enough to `strconv.Quote`). */
export function goQuote(value: string): string {
  return JSON.stringify(value);
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
// What Go prints for `string(rune(-1))`, the scanner's EOF, in "unsupported modifier" messages.
const EOF_RUNE = '\uFFFD';

function isSpace(ch: string): boolean {
  return /^\s$/u.test(ch);
}

function isLetterOrDigit(ch: string): boolean {
  return /^[\p{L}\p{Nd}]$/u.test(ch);
}

function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}

class Scanner {
  private pos = 0;
  constructor(private readonly chars: readonly string[]) {}

  peek(): string | undefined {
    return this.chars[this.pos];
  }

  next(): string | undefined {
    const ch = this.chars[this.pos];
    if (ch !== undefined) this.pos += 1;
    return ch;
  }
}

/** Collects the words of a string as the shell would split them after expansion. */
class WordCollector {
  private buf = '';
  private inWord = false;
  private readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.buf += ch;
    this.inWord = true;
  }

  addString(str: string): void {
    for (const ch of str) this.addChar(ch);
  }

  addRawString(str: string): void {
    this.buf += str;
    this.inWord = true;
  }

  result(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class ShellWord {
  private readonly scanner: Scanner;
  private rawEscapes = false;

  constructor(
    source: string,
    private readonly escapeToken: string,
    private readonly env: EnvLookup,
  ) {
    this.scanner = new Scanner([...source]);
  }

  processAll(): { result: string; words: string[] } {
    return this.processStopOn(undefined, false);
  }

  private processStopOn(stopChar: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new WordCollector();
      for (let ch = this.scanner.peek(); ch !== undefined; ch = this.scanner.peek()) {
        if (stopChar !== undefined && ch === stopChar) {
          this.scanner.next();
          return { result, words: words.result() };
        }
        if (ch === '$' || ch === '<' || ch === "'" || ch === '"') {
          const part =
            ch === '$' ? this.processDollar() : ch === '<' ? this.processPossibleHeredoc() : ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += part;
          if (ch === '$') words.addString(part);
          else words.addRawString(part);
          continue;
        }
        let c = this.scanner.next() as string;
        if (c === this.escapeToken) {
          if (this.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          // The escape token escapes the next character; at the very end it is dropped.
          const escaped = this.scanner.next();
          if (escaped === undefined) break;
          c = escaped;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
      if (stopChar !== undefined) throw new ShellWordError(`unexpected end of statement while looking for matching ${stopChar}`);
      return { result, words: words.result() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  // Everything between single quotes is literal; a single quote cannot be escaped inside.
  private processSingleQuote(): string {
    this.scanner.next();
    let result = '';
    for (;;) {
      const ch = this.scanner.next();
      if (ch === undefined) throw new ShellWordError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return result;
      result += ch;
    }
  }

  // Inside double quotes only `$`, `"` and the escape token itself can be escaped; `$` expands.
  private processDoubleQuote(): string {
    this.scanner.next();
    let result = '';
    for (;;) {
      const peeked = this.scanner.peek();
      if (peeked === undefined) throw new ShellWordError('unexpected end of statement while looking for matching double-quote');
      if (peeked === '"') {
        this.scanner.next();
        return result;
      }
      if (peeked === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.scanner.next() as string;
      if (ch === this.escapeToken) {
        if (this.rawEscapes) result += ch;
        const after = this.scanner.peek();
        if (after === undefined) continue;
        if (after === '"' || after === '$' || after === this.escapeToken) ch = this.scanner.next() as string;
      }
      result += ch;
    }
  }

  private processPossibleHeredoc(): string {
    this.scanner.next();
    if (this.scanner.peek() !== '<') return '<';
    this.scanner.next();
    let space = '';
    for (let ch = this.scanner.peek(); ch === ' ' || ch === '\t' || ch === '\r'; ch = this.scanner.peek()) {
      space += ch;
      this.scanner.next();
    }
    return `<<${space}`;
  }

  private processDollar(): string {
    this.scanner.next();
    if (this.scanner.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      return this.env(name) ?? '';
    }
    this.scanner.next();
    const first = this.scanner.peek();
    if (first === undefined) throw new ShellWordError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ShellWordError('syntax error: bad substitution');

    const name = this.processName();
    // EOF reads as U+FFFD, which Go prints for it and which matches no operator.
    const op = this.scanner.next() ?? EOF_RUNE;
    switch (op) {
      case '}':
        return this.env(name) ?? '';
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        const nullIsUnset = op === ':';
        const ch = nullIsUnset ? (this.scanner.next() ?? EOF_RUNE) : op;
        const modifier = nullIsUnset ? `${op}${ch}` : op;
        const trims = ch === '#' || ch === '%';
        if (nullIsUnset && trims) throw new ShellWordError(`unsupported modifier (${modifier}) in substitution`);
        const word = this.wordUntil('}', trims, "syntax error: missing '}'");
        const value = this.env(name);
        const empty = value === undefined || (nullIsUnset && value === '');
        switch (ch) {
          case '-':
            return empty ? word : (value as string);
          case '+':
            return empty ? '' : word;
          case '?':
            if (value === undefined) throw new ShellWordError(`${name}: ${word || 'is not allowed to be unset'}`);
            if (nullIsUnset && value === '') throw new ShellWordError(`${name}: ${word || 'is not allowed to be empty'}`);
            return value;
          case '%':
          case '#': {
            const greedy = word.startsWith(ch);
            const pattern = greedy ? word.slice(1) : word;
            return ch === '%' ? trimSuffix(pattern, value ?? '', greedy) : trimPrefix(pattern, value ?? '', greedy);
          }
          default:
            throw new ShellWordError(`unsupported modifier (${modifier}) in substitution`);
        }
      }
      case '/': {
        const replaceAll = this.scanner.peek() === '/';
        if (replaceAll) this.scanner.next();
        const pattern = this.wordUntil('/', true, "syntax error: missing '/' in ${}");
        const replacement = this.wordUntil('}', true, "syntax error: missing '}'");
        const value = this.env(name) ?? '';
        const re = patternToRegex(pattern, true, false, replaceAll ? 'g' : '');
        return value.replace(re, () => replacement);
      }
      default:
        throw new ShellWordError(`unsupported modifier (${op}) in substitution`);
    }
  }

  private wordUntil(stopChar: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processStopOn(stopChar, rawEscapes).result;
    } catch (err) {
      if (this.scanner.peek() === undefined) throw new ShellWordError(missing);
      throw err;
    }
  }

  // A name is letters, digits and `_`; a leading digit reads all digits; or one special parameter.
  private processName(): string {
    let name = '';
    for (let ch = this.scanner.peek(); ch !== undefined; ch = this.scanner.peek()) {
      if (name === '' && isDigit(ch)) {
        for (let d = this.scanner.peek(); d !== undefined && isDigit(d); d = this.scanner.peek()) name += this.scanner.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) {
        this.scanner.next();
        return ch;
      }
      if (!isLetterOrDigit(ch) && ch !== '_') break;
      name += this.scanner.next();
    }
    return name;
  }
}

/** A shell wildcard pattern (`*`, `?`, `\` escapes; no brackets) as a regular expression. */
function patternToRegex(pattern: string, greedy: boolean, anchored: boolean, flags = ''): RegExp {
  const chars = [...pattern];
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i += 1) {
    let tok = chars[i];
    switch (tok) {
      case '*':
        out += greedy ? '.*' : '.*?';
        continue;
      case '?':
        out += '.';
        continue;
      case '\\': {
        // `\}` and `\/` inside ${} escape the delimiter; the backslash is not part of the pattern.
        const next = chars[i + 1];
        if (next === '}' || next === '/') continue;
        i += 1;
        tok = chars[i] ?? EOF_RUNE;
        if (tok !== '*' && tok !== '?' && tok !== '\\') {
          throw new ShellWordError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${tok}'`);
        }
        out += `\\${tok}`;
        continue;
      }
      case '[':
      case ']':
      case '{':
      case '}':
      case '.':
      case '+':
      case '(':
      case ')':
      case '|':
      case '^':
      case '$':
        out += `\\${tok}`;
        continue;
      default:
        out += tok;
    }
  }
  return new RegExp(out, flags);
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const match = patternToRegex(pattern, greedy, true).exec(value);
  return match ? value.slice(match.index + match[0].length) : value;
}

// Reverses a pattern keeping `\x` escapes in order, so a suffix search becomes a prefix search.
function reversePattern(pattern: string): string {
  const chars = [...pattern];
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = chars[i];
    const outIdx = last - i;
    if (tok === '\\' && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = chars[i + 1];
      i += 2;
    } else {
      out[outIdx] = tok;
      i += 1;
    }
  }
  return out.join('');
}

function reverseString(value: string): string {
  return [...value].reverse().join('');
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

function processed<T>(source: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof ShellWordError) throw new ShellWordError(`failed to process ${goQuote(source)}: ${err.message}`);
    throw err;
  }
}

/** One word after quote removal and expansion (BuildKit's `ProcessWord`). */
export function processWord(word: string, env: EnvLookup, escapeToken = '\\'): string {
  return processed(word, () => new ShellWord(word, escapeToken, env).processAll().result);
}

/** The words of a string after expansion, split on unquoted whitespace (`ProcessWords`). */
export function processWords(word: string, env: EnvLookup, escapeToken = '\\'): string[] {
  return processed(word, () => new ShellWord(word, escapeToken, env).processAll().words);
}
