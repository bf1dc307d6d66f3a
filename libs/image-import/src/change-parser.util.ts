import { ImportChangeError } from './import.errors';
import { goQuote } from './shell-words.util';

/**
 * The Dockerfile parser, as far as `--change` needs it: dockerd joins the changes with newlines
 * and parses them as a Dockerfile (BuildKit's `parser.Parse`), so comments, line continuations,
 * the `# escape=` directive and each instruction's argument syntax behave as in a Dockerfile.
 * Heredocs (RUN/COPY/ADD only) are not recognised: none of those may appear in a change.
 */

/** One parsed instruction line. */
export interface ChangeNode {
  /** The instruction as typed (`cmd`, `CMD`): dockerd's error messages repeat it verbatim. */
  instruction: string;
  /** `--name=value` words that preceded the arguments. */
  flags: string[];
  /**
   * Arguments as BuildKit's `nodeArgs` lists them: ENV and LABEL as `key, value, separator`
   * triples; ONBUILD as the trigger instruction followed by its arguments.
   */
  args: string[];
  /** The arguments were a JSON array (exec form). */
  json: boolean;
  /** The whole line, continuations joined. */
  original: string;
}

export interface ParsedChanges {
  nodes: ChangeNode[];
  /** `\` unless a leading `# escape=` directive chose `` ` ``. */
  escapeToken: string;
}

interface LineArgs {
  args: string[];
  json: boolean;
}

type LineParser = (rest: string, d: Directives) => LineArgs;

const WHITESPACE_RUN = /[\t\v\f\r ]+/;
const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';
const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const VALID_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

function fail(message: string): never {
  throw new ImportChangeError(message);
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /^\s$/u.test(ch);
}

/** Parser state: directives are honoured only before the first other line. */
class Directives {
  escapeToken = '\\';
  lineContinuation = Directives.continuationRegex('\\');
  private done = false;
  private readonly seen = new Set<string>();

  private static continuationRegex(token: string): RegExp {
    const t = escapeRegExp(token);
    return new RegExp(`([^${t}])${t}[ \\t]*$|^${t}[ \\t]*$`);
  }

  /** Looks at one (left-trimmed) line for a parser directive; true when it was one. */
  possibleDirective(line: string): boolean {
    if (this.done) return false;
    if (!line.startsWith('#')) {
      this.done = true;
      return false;
    }
    const match = DIRECTIVE_RE.exec(line.slice(1).trimStart());
    const key = match?.[1].toLowerCase();
    if (!match || key === undefined || !VALID_DIRECTIVES.has(key)) {
      this.done = true;
      return false;
    }
    if (this.seen.has(key)) fail(`only one ${key} parser directive can be used`);
    this.seen.add(key);
    if (key === 'escape') {
      const value = match[2];
      if (value !== '`' && value !== '\\') fail(`invalid escape token '${value}' does not match \` or \\`);
      this.escapeToken = value;
      this.lineContinuation = Directives.continuationRegex(value);
    }
    return true;
  }
}

/** Splits off leading `--flag` words (quotes and escapes processed), as `extractBuilderFlags`. */
function extractBuilderFlags(line: string, d: Directives): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= line.length; pos += 1) {
    let ch = pos < line.length ? line[pos] : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return { rest: line.slice(pos), flags };
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOk || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(pos), flags };
        if (blankOk || word.length > 0) flags.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        continue;
      }
      if (ch === d.escapeToken) {
        if (pos + 1 === line.length) continue;
        pos += 1;
        ch = line[pos];
      }
      word += ch;
      continue;
    }
    // Inside quotes.
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === d.escapeToken) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos += 1;
      ch = line[pos];
    }
    word += ch;
  }
  return { rest: '', flags };
}

/** Splits on whitespace keeping quotes and escapes in the words (`parseWords`). */
function parseWords(rest: string, d: Directives): string[] {
  const chars = [...rest];
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOk = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos += 1) {
    let ch = pos < chars.length ? chars[pos] : '';
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOk || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOk || word.length > 0) words.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
      }
      if (ch === d.escapeToken) {
        if (pos + 1 === chars.length) continue;
        // Outside quotes an escape keeps both characters; quote removal happens later.
        word += ch;
        pos += 1;
        ch = chars[pos];
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    // The escape token escapes anything inside double quotes, nothing inside single quotes.
    if (ch === d.escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos += 1;
      word += ch;
      ch = chars[pos];
    }
    word += ch;
  }
  return words;
}

function splitFirstWhitespace(value: string): string[] {
  const match = WHITESPACE_RUN.exec(value);
  return match ? [value.slice(0, match.index), value.slice(match.index + match[0].length)] : [value];
}

/** `KEY value` (legacy) or `KEY=value KEY2="v 2"`, as triples; values keep their quotes. */
function parseNameVal(rest: string, key: string, d: Directives): LineArgs {
  const words = parseWords(rest, d);
  if (words.length === 0) return { args: [], json: false };
  if (!words[0].includes('=')) {
    const parts = splitFirstWhitespace(rest);
    if (parts.length < 2) fail(`${key} must have two arguments`);
    return { args: [parts[0], parts[1], ''], json: false };
  }
  const args: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) fail(`Syntax error - can't find = in ${goQuote(word)}. Must be of the form: name=value`);
    args.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return { args, json: false };
}

function parseWhitespaceDelimited(rest: string): LineArgs {
  return { args: rest === '' ? [] : rest.split(WHITESPACE_RUN), json: false };
}

function parseString(rest: string): LineArgs {
  return { args: rest === '' ? [] : [rest], json: false };
}

/** A JSON array of strings, or null when `rest` is not JSON (then it is taken as text). */
function parseJson(rest: string): LineArgs | null {
  const trimmed = rest.trimStart();
  if (!trimmed.startsWith('[')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  const args: string[] = [];
  for (const item of parsed as unknown[]) {
    if (typeof item !== 'string') fail(NOT_STRING_ARRAY);
    args.push(item);
  }
  return { args, json: true };
}

function parseMaybeJson(rest: string): LineArgs {
  if (rest === '') return { args: [], json: false };
  return parseJson(rest) ?? { args: [rest], json: false };
}

function parseMaybeJsonToList(rest: string): LineArgs {
  return parseJson(rest) ?? parseWhitespaceDelimited(rest);
}

/** `HEALTHCHECK TYPE cmd…`: the type word, then the command as CMD parses it. */
function parseHealthConfig(rest: string): LineArgs {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep])) sep += 1;
  let next = sep;
  while (next < rest.length && isSpace(rest[next])) next += 1;
  if (sep === 0) return { args: [], json: false };
  const cmd = parseMaybeJson(rest.slice(next));
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json };
}

/** `ONBUILD RUN x` → the sub-instruction followed by its own arguments. */
function parseSubCommand(rest: string, d: Directives): LineArgs {
  if (rest === '') return { args: [], json: false };
  const child = newNodeFromLine(rest, d);
  return { args: [child.instruction, ...child.args], json: false };
}

const LINE_PARSERS: Readonly<Record<string, LineParser>> = {
  add: (rest) => parseMaybeJsonToList(rest),
  arg: (rest, d) => ({ args: parseWords(rest, d), json: false }),
  cmd: (rest) => parseMaybeJson(rest),
  copy: (rest) => parseMaybeJsonToList(rest),
  entrypoint: (rest) => parseMaybeJson(rest),
  env: (rest, d) => parseNameVal(rest, 'ENV', d),
  expose: (rest) => parseWhitespaceDelimited(rest),
  from: (rest) => parseWhitespaceDelimited(rest),
  healthcheck: (rest) => parseHealthConfig(rest),
  label: (rest, d) => parseNameVal(rest, 'LABEL', d),
  maintainer: (rest) => parseString(rest),
  onbuild: (rest, d) => parseSubCommand(rest, d),
  run: (rest) => parseMaybeJson(rest),
  shell: (rest) => parseMaybeJson(rest),
  stopsignal: (rest) => parseString(rest),
  user: (rest) => parseString(rest),
  volume: (rest) => parseMaybeJsonToList(rest),
  workdir: (rest) => parseString(rest),
};

function newNodeFromLine(line: string, d: Directives): ChangeNode {
  const [instruction, remainder] = splitFirstWhitespace(line.trim());
  let flags: string[] = [];
  let rest = '';
  if (remainder !== undefined) {
    const extracted = extractBuilderFlags(remainder, d);
    flags = extracted.flags;
    rest = extracted.rest.trim();
  }
  // Unknown instructions parse (their arguments ignored); the caller decides whether they are allowed.
  const parser = LINE_PARSERS[instruction.toLowerCase()];
  const { args, json } = parser ? parser(rest, d) : { args: [], json: false };
  return { instruction, flags, args, json, original: line };
}

function isComment(line: string): boolean {
  return line.trimStart().startsWith('#');
}

/** Parses the changes, joined with newlines, as the lines of a Dockerfile. */
export function parseChanges(text: string): ParsedChanges {
  const d = new Directives();
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const nodes: ChangeNode[] = [];

  const processLine = (raw: string, stripLeft: boolean): string => {
    let line = raw.replace(/[\r\n]+$/, '');
    if (stripLeft) line = line.trimStart();
    d.possibleDirective(line);
    return isComment(line) ? '' : line;
  };
  const trimContinuation = (line: string): { line: string; end: boolean } =>
    d.lineContinuation.test(line) ? { line: line.replace(d.lineContinuation, '$1'), end: false } : { line, end: true };

  for (let i = 0; i < lines.length; ) {
    const raw = i === 0 ? lines[i].replace(/^\uFEFF/, '') : lines[i];
    i += 1;
    const first = trimContinuation(processLine(raw, true));
    if (first.end && first.line === '') continue;
    let joined = first.line;
    let end = first.end;
    while (!end && i < lines.length) {
      const next = lines[i];
      i += 1;
      const processed = processLine(next, false);
      // Comments and blank lines inside a continued instruction are skipped.
      if (isComment(next) || processed.trim() === '') continue;
      const part = trimContinuation(processed);
      joined += part.line;
      end = part.end;
    }
    nodes.push(newNodeFromLine(joined, d));
  }
  if (nodes.length === 0) fail('file with no instructions');
  return { nodes, escapeToken: d.escapeToken };
}
