/**
 * Variable substitution and word splitting as Docker's shell lexer does it (buildkit
 * frontend/dockerfile/shell): `$VAR`, `${VAR}`, `${VAR:-x}` `${VAR-x}` `${VAR:+x}` `${VAR+x}`
 * `${VAR:?x}` `${VAR?x}`, `${VAR#p}` `${VAR##p}` `${VAR%p}` `${VAR%%p}`, `${VAR/p/r}` `${VAR//p/r}`,
 * single quotes (literal), double quotes, and the escape character.
 */
import { ExpansionError, LineError } from './errors';
import { goQuote, isGoSpace } from './go-compat';

/** Returns a variable's value, or undefined when it is not set. */
export type VariableLookup = (name: string) => string | undefined;

export interface LexOptions {
  escapeToken: string;
  /** Keep quote characters in the output (used to detect quoted heredoc delimiters). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written. */
  skipUnsetEnv?: boolean;
}

interface LexResult {
  result: string;
  words: string[];
}

/** Collects words the way the lexer's wordsStruct does: splitting only on unquoted, unescaped space. */
class WordCollector {
  private buf = '';
  private inWord = false;
  private readonly words: string[] = [];

  addChar(ch: string): void {
    if (isGoSpace(ch)) {
      if (this.inWord && this.buf.length !== 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
      return;
    }
    this.addRawChar(ch);
  }

  addRawChar(ch: string): void {
    this.buf += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.buf += s;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;

// Go's text/scanner reports EOF as rune -1; string(rune(-1)) is U+FFFD, which shows up in errors.
const EOF_TEXT = '\ufffd';

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;

  constructor(
    input: string,
    private readonly lookup: VariableLookup,
    private readonly opts: LexOptions,
  ) {
    this.chars = Array.from(input);
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  peek(): string | undefined {
    return this.chars[this.pos];
  }

  next(): string | undefined {
    const ch = this.chars[this.pos];
    if (ch !== undefined) this.pos++;
    return ch;
  }

  process(): LexResult {
    return this.processStopOn(undefined, this.rawEscapes);
  }

  processStopOn(stopChar: string | undefined, rawEscapes: boolean): LexResult {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.scanUntil(stopChar);
    } finally {
      this.rawEscapes = saved;
    }
  }

  private scanUntil(stopChar: string | undefined): LexResult {
    let result = '';
    const words = new WordCollector();
    const quotes = !this.opts.skipProcessQuotes;
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (stopChar !== undefined && ch === stopChar) {
        this.next();
        return { result, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.processDollar();
        result += value;
        words.addString(value);
      } else if (ch === '<') {
        const value = this.processPossibleHeredoc();
        result += value;
        words.addRawString(value);
      } else if (quotes && (ch === "'" || ch === '"')) {
        const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
        result += value;
        words.addRawString(value);
      } else {
        let c = this.next() as string;
        if (c === this.opts.escapeToken) {
          if (this.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          const escaped = this.next();
          // An escape at the very end of the word is dropped.
          if (escaped === undefined) break;
          c = escaped;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
    }
    if (stopChar !== undefined) {
      throw new LineError(`unexpected end of statement while looking for matching ${stopChar}`);
    }
    return { result, words: words.finish() };
  }

  private processSingleQuote(): string {
    let result = '';
    const open = this.next() as string;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new LineError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    const open = this.next() as string;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const peeked = this.peek();
      if (peeked === undefined) throw new LineError('unexpected end of statement while looking for matching double-quote');
      if (peeked === '"') {
        this.next();
        if (this.opts.rawQuotes) result += peeked;
        return result;
      }
      if (peeked === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next() as string;
      if (ch === this.opts.escapeToken) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        // A trailing escape is ignored; the missing closing quote is reported next.
        if (after === undefined) continue;
        // Inside double quotes only ", $ and the escape itself can be escaped.
        if (after === '"' || after === '$' || after === this.opts.escapeToken) ch = this.next() as string;
      }
      result += ch;
    }
  }

  private processName(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name.length === 0 && DIGIT.test(ch)) {
        // Positional parameters: all the digits, never set.
        while (this.peek() !== undefined && DIGIT.test(this.peek() as string)) name += this.next();
        return name;
      }
      if (name.length === 0 && SPECIAL_PARAMS.has(ch)) {
        this.next();
        return ch;
      }
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    // Whitespace between << and the delimiter stays attached so the word reads as one heredoc.
    let space = '';
    for (let ch = this.peek(); ch === ' ' || ch === '\t' || ch === '\r'; ch = this.peek()) {
      space += ch;
      this.next();
    }
    return '<<' + space;
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new LineError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LineError('syntax error: bad substitution');
    const name = this.processName();
    const ch = this.next();
    switch (ch) {
      case '}': {
        const value = this.lookup(name);
        if (value === undefined && this.opts.skipUnsetEnv) return '${' + name + '}';
        return value ?? '';
      }
      case '/':
        return this.processReplace(name);
      case ':': {
        const modifier = this.next();
        return this.processModifier(name, modifier, ':' + (modifier ?? EOF_TEXT), true);
      }
      case '+':
      case '-':
      case '?':
      case '#':
      case '%':
        return this.processModifier(name, ch, ch, false);
      case undefined:
      default:
        throw new LineError(`unsupported modifier (${ch ?? EOF_TEXT}) in substitution`);
    }
  }

  private processModifier(name: string, modifier: string | undefined, shown: string, nullIsUnset: boolean): string {
    const trims = modifier === '#' || modifier === '%';
    if (nullIsUnset && trims) throw new LineError(`unsupported modifier (${shown}) in substitution`);
    let word: string;
    try {
      word = this.processStopOn('}', trims).result;
    } catch (err) {
      if (this.peek() === undefined) throw new LineError("syntax error: missing '}'");
      throw err;
    }
    const value = this.lookup(name);
    const set = value !== undefined;
    if (!set && this.opts.skipUnsetEnv) return '${' + name + shown + word + '}';
    const empty = !set || (nullIsUnset && value === '');
    switch (modifier) {
      case '-':
        return empty ? word : (value as string);
      case '+':
        return empty ? '' : word;
      case '?':
        if (!set) throw new LineError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new LineError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
        return value;
      case '#':
      case '%':
        return trimByPattern(value ?? '', word, modifier);
      case undefined:
      default:
        throw new LineError(`unsupported modifier (${shown}) in substitution`);
    }
  }

  private processReplace(name: string): string {
    const replaceAll = this.peek() === '/';
    if (replaceAll) this.next();
    let pattern: string;
    try {
      pattern = this.processStopOn('/', true).result;
    } catch (err) {
      if (this.peek() === undefined) throw new LineError("syntax error: missing '/' in ${}");
      throw err;
    }
    let replacement: string;
    try {
      replacement = this.processStopOn('}', true).result;
    } catch (err) {
      if (this.peek() === undefined) throw new LineError("syntax error: missing '}'");
      throw err;
    }
    const value = this.lookup(name);
    if (value === undefined && this.opts.skipUnsetEnv) return '${' + name + '/' + pattern + '/' + replacement + '}';
    const re = shellPatternRegex(pattern, true, false, replaceAll);
    const subject = value ?? '';
    if (replaceAll) return subject.replace(re, (match) => expandGoTemplate(replacement, match));
    const m = re.exec(subject);
    if (!m) return subject;
    return subject.slice(0, m.index) + replacement + subject.slice(m.index + m[0].length);
  }
}

/**
 * Converts a ${VAR#pattern}-style shell pattern (`*`, `?`, `\` escapes; no bracket expressions)
 * to a regular expression, with the lexer's error texts.
 */
function shellPatternRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') {
      out += star;
    } else if (ch === '?') {
      out += '.';
    } else if (ch === '\\') {
      const nextCh = chars[i + 1];
      // `}` and `/` are escaped only so they do not end the ${...}; the escape is not part of the pattern.
      if (nextCh === '}' || nextCh === '/') continue;
      i++;
      if (nextCh !== '*' && nextCh !== '?' && nextCh !== '\\') {
        throw new LineError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${nextCh ?? EOF_TEXT}'`);
      }
      out += '\\' + nextCh;
    } else if ('[]{}.+()|^$'.includes(ch)) {
      out += '\\' + ch;
    } else {
      out += ch;
    }
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function trimByPattern(value: string, word: string, modifier: '#' | '%'): string {
  // A doubled modifier (## or %%) asks for the longest match.
  const greedy = word.startsWith(modifier);
  const pattern = greedy ? word.slice(1) : word;
  if (modifier === '#') return trimPrefix(pattern, value, greedy);
  // The shortest rightmost match is found by matching the reversed pattern against the reversed value.
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const re = shellPatternRegex(pattern, greedy, true);
  const m = re.exec(value);
  return m ? value.slice(m[0].length) : value;
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

/** Reverses a pattern while keeping each `\x` escape pair in order. */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const outIdx = last - i;
    if (chars[i] === '\\' && i !== last) {
      out[outIdx - 1] = chars[i];
      out[outIdx] = chars[i + 1];
      i += 2;
    } else {
      out[outIdx] = chars[i];
      i++;
    }
  }
  return out.join('');
}

/**
 * Go's Regexp.ReplaceAllString expands `$name`/`${name}` in the replacement; the patterns here have
 * no groups, so only `$0` (the match) and `$$` mean anything; other names expand to nothing.
 */
function expandGoTemplate(template: string, match: string): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch !== '$') {
      out += ch;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    const braced = template[i + 1] === '{';
    const m = (braced ? /^\{([A-Za-z0-9_]+)\}/ : /^([A-Za-z0-9_]+)/).exec(template.slice(i + 1));
    if (!m) {
      out += '$';
      continue;
    }
    if (/^[0-9]+$/.test(m[1]) && Number(m[1]) === 0) out += match;
    i += m[0].length;
  }
  return out;
}

function runLexer(word: string, lookup: VariableLookup, opts: LexOptions): LexResult {
  try {
    return new ShellWord(word, lookup, opts).process();
  } catch (err) {
    if (err instanceof LineError) {
      throw new ExpansionError(word, err.message, `failed to process ${goQuote(word)}: ${err.message}`);
    }
    throw err;
  }
}

/** Internal entry point with every lexer option (heredoc detection uses raw modes). */
export function lex(word: string, lookup: VariableLookup, opts: LexOptions): LexResult {
  return runLexer(word, lookup, opts);
}

function checkEscape(escape: string): void {
  if (escape !== '\\' && escape !== '`') throw new Error(`invalid escape token '${escape}' does not match \` or \\`);
}

/**
 * Substitutes variables in one word and removes quotes and escapes, exactly like Docker's
 * ProcessWord (used for ENV/LABEL/ARG values, WORKDIR, USER, COPY/ADD paths, FROM, ...).
 * Throws ExpansionError with Docker's message for `${X:?}`, bad modifiers or unclosed quotes.
 */
export function expandWord(word: string, lookup: VariableLookup, escape = '\\'): string {
  checkEscape(escape);
  return runLexer(word, lookup, { escapeToken: escape }).result;
}

/**
 * Like expandWord, then splits the result on unquoted whitespace (Docker's ProcessWords; EXPOSE
 * uses it so `EXPOSE $PORTS` with PORTS="80 443" exposes two ports).
 */
export function expandWords(word: string, lookup: VariableLookup, escape = '\\'): string[] {
  checkEscape(escape);
  return runLexer(word, lookup, { escapeToken: escape }).words;
}

/**
 * Expands a COPY/ADD heredoc body the way BuildKit does for unquoted delimiters: variables are
 * substituted but quotes are kept as written; the escape character is always backslash.
 */
export function expandHeredocContent(content: string, lookup: VariableLookup): string {
  return runLexer(content, lookup, { escapeToken: '\\', skipProcessQuotes: true }).result;
}
