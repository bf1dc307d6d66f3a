/**
 * The line-level pass of Docker's Dockerfile parser (buildkit frontend/dockerfile/parser):
 * parser directives, comments, line continuations, heredoc bodies, and the per-instruction
 * argument shapes (JSON arrays, whitespace words, key=value pairs). Instruction semantics are
 * checked afterwards in instructions-parse.ts, as Docker does in a second pass.
 */
import { DockerfileSyntaxError, LineError } from './errors';
import { goQuote, goTrimLeftSpace, goTrimSpace, isGoSpace } from './go-compat';
import type { Heredoc } from './heredoc';
import { heredocsFromLine } from './heredoc';

/** One instruction as the line parser sees it. */
export interface Node {
  /** The instruction name as written (any case). */
  value: string;
  args: string[];
  /** The arguments were a JSON array (exec form). */
  json: boolean;
  /** `--name[=value]` words before the arguments. */
  flags: string[];
  /** The instruction text with continuations joined. */
  original: string;
  startLine: number;
  endLine: number;
  heredocs: Heredoc[];
  /** ONBUILD's wrapped instruction. */
  child?: Node;
}

export interface Directives {
  escape: string;
  syntax?: string;
}

export interface AstResult {
  nodes: Node[];
  directives: Directives;
  /** What `docker build` prints as `[WARNING]: ...` lines (empty continuation lines). */
  warnings: string[];
}

const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
// Go's regexp \s class; the separator between an instruction and its arguments.
const WHITESPACE_RE = /[\t\v\f\r ]+/;
const HEREDOC_INSTRUCTIONS = new Set(['add', 'copy', 'run']);

/** Parser directives are read only until the first line that is not one. */
class DirectiveParser {
  private done = false;
  private readonly seen = new Set<string>();
  readonly directives: Directives = { escape: '\\' };
  continuation = continuationRegex('\\');

  /** Returns true when the (leading-space-trimmed) line was a directive. */
  parseLine(line: string): boolean {
    if (this.done) return false;
    if (!line.startsWith('#')) {
      this.done = true;
      return false;
    }
    const m = DIRECTIVE_RE.exec(goTrimLeftSpace(line.slice(1)));
    const key = m?.[1].toLowerCase();
    if (!m || key === undefined || !KNOWN_DIRECTIVES.has(key)) {
      this.done = true;
      return false;
    }
    if (this.seen.has(key)) throw new LineError(`only one ${key} parser directive can be used`);
    this.seen.add(key);
    const value = m[2];
    if (key === 'escape') this.setEscape(value);
    if (key === 'syntax') this.directives.syntax = value;
    return true;
  }

  private setEscape(value: string): void {
    if (value !== '`' && value !== '\\') throw new LineError(`invalid escape token '${value}' does not match \` or \\`);
    this.directives.escape = value;
    this.continuation = continuationRegex(value);
  }
}

/**
 * The escape character at the end of a line (after optional blanks) continues it, unless the
 * escape is itself escaped; a line holding only the escape also continues.
 */
function continuationRegex(escape: string): RegExp {
  const e = escape === '\\' ? '\\\\' : escape;
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`, 'u');
}

function trimContinuation(line: string, re: RegExp): { text: string; continues: boolean } {
  if (re.test(line)) return { text: line.replace(re, '$1'), continues: true };
  return { text: line, continues: false };
}

/** Splits into lines, keeping each line's `\n` (heredoc bodies need the original endings). */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function trimNewline(line: string): string {
  return line.replace(/[\r\n]+$/, '');
}

function isComment(line: string): boolean {
  return goTrimLeftSpace(line).startsWith('#');
}

/** Cursor over the file's lines with 1-based numbering. */
class LineReader {
  private index = 0;
  constructor(private readonly lines: string[]) {}
  get lineNumber(): number {
    return this.index;
  }
  hasNext(): boolean {
    return this.index < this.lines.length;
  }
  next(): string {
    return this.lines[this.index++];
  }
}

/** Runs the line-level pass; throws DockerfileSyntaxError. */
export function parseAst(text: string): AstResult {
  const reader = new LineReader(splitLines(text.replace(/^\uFEFF/, '')));
  const directives = new DirectiveParser();
  const nodes: Node[] = [];
  const warnings: string[] = [];
  while (reader.hasNext()) {
    const first = goTrimLeftSpace(trimNewline(reader.next()));
    atLine(reader.lineNumber, () => directives.parseLine(first));
    const startLine = reader.lineNumber;
    const head = trimContinuation(isComment(first) ? '' : first, directives.continuation);
    if (!head.continues && head.text === '') continue;
    const { line, hadEmptyLine } = readContinuation(reader, head, directives.continuation);
    if (hadEmptyLine) warnings.push(`Empty continuation line found in: ${line}`);
    const node = atLine(startLine, () => nodeFromLine(line, directives.directives.escape));
    node.startLine = startLine;
    if (canContainHeredoc(node) && line.includes('<<')) {
      node.heredocs = atLine(startLine, () => readHeredocBodies(reader, line, startLine));
    }
    node.endLine = reader.lineNumber;
    nodes.push(node);
  }
  if (nodes.length === 0) throw new DockerfileSyntaxError(Math.max(1, reader.lineNumber), 'file with no instructions');
  if (warnings.length > 0) warnings.push('Empty continuation lines will become errors in a future release.');
  return { nodes, directives: directives.directives, warnings: warnings.map((w) => `[WARNING]: ${w}`) };
}

/**
 * Joins continuation lines. Comment lines and blank lines inside a continuation are skipped (Docker
 * warns about the blank ones); continuation lines keep their leading whitespace.
 */
function readContinuation(
  reader: LineReader,
  head: { text: string; continues: boolean },
  re: RegExp,
): { line: string; hadEmptyLine: boolean } {
  let buf = head.text;
  let continues = head.continues;
  let hadEmptyLine = false;
  while (continues && reader.hasNext()) {
    const raw = reader.next();
    if (isComment(raw)) continue;
    const line = trimNewline(raw);
    if (goTrimLeftSpace(line) === '') {
      hadEmptyLine = true;
      continue;
    }
    const part = trimContinuation(line, re);
    buf += part.text;
    continues = part.continues;
  }
  return { line: buf, hadEmptyLine };
}

function readHeredocBodies(reader: LineReader, line: string, startLine: number): Heredoc[] {
  const heredocs: Heredoc[] = [];
  for (const doc of heredocsFromLine(line)) {
    let content = '';
    let terminated = false;
    while (reader.hasNext()) {
      const raw = reader.next();
      let candidate = trimNewline(raw);
      if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
      if (candidate === doc.name) {
        terminated = true;
        break;
      }
      content += raw;
    }
    if (!terminated) throw new DockerfileSyntaxError(startLine, 'unterminated heredoc');
    heredocs.push({ ...doc, content });
  }
  return heredocs;
}

function canContainHeredoc(node: Node): boolean {
  const target = node.value.toLowerCase() === 'onbuild' && node.child ? node.child : node;
  return HEREDOC_INSTRUCTIONS.has(target.value.toLowerCase()) && !target.json;
}

/** Runs fn, turning a LineError into a DockerfileSyntaxError at the given line. */
export function atLine<T>(line: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof LineError) throw new DockerfileSyntaxError(Math.max(1, line), err.message);
    throw err;
  }
}

/** Splits a joined line into instruction name, flags and the instruction-specific arguments. */
export function nodeFromLine(line: string, escape: string): Node {
  const trimmed = goTrimSpace(line);
  const m = WHITESPACE_RE.exec(trimmed);
  const cmd = m ? trimmed.slice(0, m.index) : trimmed;
  const afterCmd = m ? trimmed.slice(m.index + m[0].length) : '';
  const { rest, flags } = m ? extractBuilderFlags(afterCmd, escape) : { rest: '', flags: [] };
  const node: Node = { value: cmd, args: [], json: false, flags, original: line, startLine: 0, endLine: 0, heredocs: [] };
  const args = goTrimSpace(rest);
  const parse = LINE_PARSERS[cmd.toLowerCase()];
  if (parse) parse(node, args, escape);
  return node;
}

type LineParser = (node: Node, rest: string, escape: string) => void;

const LINE_PARSERS: Record<string, LineParser> = {
  add: parseMaybeJSONToList,
  arg: (node, rest, escape) => {
    node.args = parseWords(rest, escape);
  },
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: (node, rest, escape) => {
    node.args = parseNameVal(rest, 'ENV', escape);
  },
  expose: parseWhitespaceDelimited,
  from: parseWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: (node, rest, escape) => {
    node.args = parseNameVal(rest, 'LABEL', escape);
  },
  maintainer: parseString,
  onbuild: (node, rest, escape) => {
    if (rest === '') return;
    node.child = nodeFromLine(rest, escape);
    node.args = [node.child.value, ...node.child.args];
  },
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
};

function parseString(node: Node, rest: string): void {
  if (rest !== '') node.args = [rest];
}

function parseWhitespaceDelimited(node: Node, rest: string): void {
  if (rest !== '') node.args = rest.split(WHITESPACE_RE);
}

const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/** A JSON array of strings, or undefined when the text is not a JSON array at all. */
function parseJSONArray(rest: string): string[] | undefined {
  const text = goTrimLeftSpace(rest);
  if (!text.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((item): item is string => typeof item === 'string')) throw new LineError(NOT_STRING_ARRAY);
  return parsed;
}

function parseMaybeJSON(node: Node, rest: string): void {
  if (rest === '') return;
  const list = parseJSONArray(rest);
  if (list) {
    node.args = list;
    node.json = true;
    return;
  }
  node.args = [rest];
}

function parseMaybeJSONToList(node: Node, rest: string): void {
  const list = parseJSONArray(rest);
  if (list) {
    node.args = list;
    node.json = true;
    return;
  }
  parseWhitespaceDelimited(node, rest);
}

/** HEALTHCHECK: the type word, then a command like RUN's. */
function parseHealthConfig(node: Node, rest: string): void {
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest[sep])) sep++;
  if (sep === 0) return;
  let next = sep;
  while (next < rest.length && isGoSpace(rest[next])) next++;
  const cmd: Node = { ...node, args: [], json: false };
  parseMaybeJSON(cmd, rest.slice(next));
  node.args = [rest.slice(0, sep), ...cmd.args];
  node.json = cmd.json;
}

/**
 * Splits into words on unquoted whitespace, keeping quotes and escapes in the words (they are
 * removed later, when the word is expanded).
 */
export function parseWords(rest: string, escape: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  let blankOK = false;
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i];
    if (!inWord && quote === '') {
      if (isGoSpace(ch)) continue;
      inWord = true;
    }
    if (quote === '') {
      if (isGoSpace(ch)) {
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        inWord = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
      } else if (ch === escape) {
        // An escape at the very end is dropped; otherwise it stays, with the character it escapes.
        if (i + 1 === chars.length) continue;
        word += ch;
        ch = chars[++i];
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      quote = '';
    } else if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) {
        quote = '';
        continue;
      }
      word += ch;
      ch = chars[++i];
    }
    word += ch;
  }
  if ((inWord || quote !== '') && (blankOK || word.length > 0)) words.push(word);
  return words;
}

/**
 * ENV/LABEL arguments as [key, value, delimiter] triples: `k=v ...` pairs (delimiter `=`), or the
 * legacy `KEY value with spaces` form (delimiter empty).
 */
function parseNameVal(rest: string, instruction: string, escape: string): string[] {
  const words = parseWords(rest, escape);
  if (words.length === 0) return [];
  if (!words[0].includes('=')) {
    const m = WHITESPACE_RE.exec(rest);
    if (!m) throw new LineError(`${instruction} must have two arguments`);
    return [rest.slice(0, m.index), rest.slice(m.index + m[0].length), ''];
  }
  const out: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) throw new LineError(`Syntax error - can't find = in ${goQuote(word)}. Must be of the form: name=value`);
    out.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return out;
}

/**
 * Peels `--flag[=value]` words off the front of the arguments; quotes and escapes inside a flag
 * are resolved. A bare `--` ends the flags.
 */
export function extractBuilderFlags(line: string, escape: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && isGoSpace(line[pos])) pos++;
    if (pos >= line.length) return { rest: '', flags };
    if (!(line[pos] === '-' && line[pos + 1] === '-')) return { rest: line.slice(pos), flags };
    const { word, end, blankOK } = readFlagWord(line, pos, escape);
    if (word === '--' && end < line.length) return { rest: line.slice(end), flags };
    if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
    if (end >= line.length) return { rest: '', flags };
    pos = end;
  }
}

function readFlagWord(line: string, start: number, escape: string): { word: string; end: number; blankOK: boolean } {
  let word = '';
  let quote = '';
  let blankOK = false;
  let pos = start;
  for (; pos < line.length; pos++) {
    let ch = line[pos];
    if (quote === '') {
      if (isGoSpace(ch)) break;
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        continue;
      }
    } else if (ch === quote) {
      quote = '';
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === line.length) {
        quote = '';
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return { word, end: pos, blankOK };
}
