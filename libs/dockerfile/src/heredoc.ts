/**
 * Heredoc detection as in buildkit's parser: which words of an instruction line open a heredoc,
 * the delimiter, `<<-` tab stripping, and whether any quoting disables expansion.
 */
import { LineError } from './errors';
import { lex } from './shell-lex';

/** A heredoc attached to RUN, COPY or ADD (`<<EOF` ... `EOF`). */
export interface Heredoc {
  /** The delimiter with quotes removed, e.g. `EOF`; also the file name COPY/ADD give it. */
  name: string;
  /** The body exactly as written (line endings kept, tabs not yet stripped). */
  content: string;
  /** False when any part of the delimiter was quoted (`<<'EOF'`, `<<"EOF"`, `<<E"O"F`). */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from every body line (see heredocBody). */
  chomp: boolean;
  /** The `3` in `3<<EOF`; 0 when absent. */
  fileDescriptor: number;
}

const HEREDOC_RE = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const unset = (): undefined => undefined;

/** Parses one word as a heredoc opener; undefined when it is not one. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m) return undefined;
  const rest = m[3];
  if (rest.length === 0) return undefined;
  // Lexing the delimiter with and without quote removal: a difference means part of it was quoted.
  const words = lexHeredocName(rest, false);
  if (words.length !== 1) return undefined;
  const rawWords = lexHeredocName(rest, true);
  if (rawWords.length !== words.length) {
    throw new LineError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  return {
    name: words[0],
    expand: countQuotes(words[0]) === countQuotes(rawWords[0]),
    chomp: m[2] === '-',
    fileDescriptor: m[1] === '' ? 0 : Number(m[1]),
  };
}

function lexHeredocName(rest: string, rawQuotes: boolean): string[] {
  try {
    return lex(rest, unset, { escapeToken: '\\', skipUnsetEnv: true, rawQuotes }).words;
  } catch (err) {
    throw new LineError(err instanceof Error ? err.message : String(err));
  }
}

function countQuotes(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === "'" || ch === '"') n++;
  return n;
}

/** The heredoc openers on an instruction line, in order (bodies not yet read). */
export function heredocsFromLine(line: string): Array<Omit<Heredoc, 'content'>> {
  let words: string[];
  try {
    words = lex(line, unset, { escapeToken: '\\', rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).words;
  } catch {
    // Docker ignores lexing failures here: such a line simply has no heredocs.
    words = [];
  }
  const docs: Array<Omit<Heredoc, 'content'>> = [];
  for (const word of words) {
    const doc = parseHeredocWord(word);
    if (doc) docs.push(doc);
  }
  return docs;
}

/** Strips leading tabs from every line (what `<<-` asks for). */
export function chompHeredocContent(content: string): string {
  return content
    .split('\n')
    .map((line) => line.replace(/^\t+/, ''))
    .join('\n');
}

/** A heredoc's body as the instruction uses it: tab-stripped when it was opened with `<<-`. */
export function heredocBody(heredoc: Heredoc): string {
  return heredoc.chomp ? chompHeredocContent(heredoc.content) : heredoc.content;
}
