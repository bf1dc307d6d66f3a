/**
 * dockerd matches `docker ps --filter name=…` values as Go regular expressions (RE2): linear
 * time whatever the pattern. JavaScript's RegExp backtracks, so a hostile pattern such as
 * `(a+)+$` could hold the gateway's event loop for minutes. This is a small RE2-style matcher
 * instead: the pattern compiles to a Thompson NFA, simulated over the input one character at a
 * time (O(pattern × input)).
 *
 * Supported: literals, `.`, `^`, `$`, `\A`, `\z`, classes (`[a-z]`, `[^…]`, `\d \w \s` and
 * their negations), escapes of punctuation, groups `(…)` / `(?:…)`, `|`, `* + ?`, `{n}`,
 * `{n,}`, `{n,m}` (lazy `?` suffixes accepted), and a leading `(?i)`. Anything else makes the
 * pattern unusable, as a pattern Go cannot compile is: it then matches nothing.
 */
export function goRegexpMatch(pattern: string, input: string): boolean {
  const program = compileGoRegexp(pattern);
  return program ? runProgram(program, input) : false;
}

type CharTest = (c: string) => boolean;
type Node =
  | { kind: 'char'; test: CharTest }
  | { kind: 'begin' }
  | { kind: 'end' }
  | { kind: 'empty' }
  | { kind: 'concat'; items: Node[] }
  | { kind: 'alt'; left: Node; right: Node }
  | { kind: 'repeat'; node: Node; min: number; max: number }; // max -1: unbounded

type Inst =
  | { op: 'char'; test: CharTest; next: number }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { op: 'begin'; next: number }
  | { op: 'end'; next: number }
  | { op: 'match' };

interface Program {
  insts: Inst[];
  start: number;
}

const MAX_REPEAT = 1000; // RE2's own limit on {n,m}
const MAX_INSTS = 20_000;
// Bounds the parser's recursion (nested groups); filter values are names, far shorter.
const MAX_PATTERN = 1000;

class Unsupported extends Error {}

/** The compiled program, or null when the pattern is invalid or uses syntax outside the subset. */
export function compileGoRegexp(pattern: string): Program | null {
  if (pattern.length > MAX_PATTERN) return null;
  try {
    let source = pattern;
    let fold = false;
    if (source.startsWith('(?i)')) {
      fold = true;
      source = source.slice(4);
    }
    const parser = new Parser(source, fold);
    const ast = parser.parseAlternation();
    if (!parser.done()) throw new Unsupported('unexpected )');
    // Instruction 0 is the match: the whole pattern continues there.
    const insts: Inst[] = [{ op: 'match' }];
    return { insts, start: emit(ast, insts, 0) };
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}

class Parser {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly fold: boolean,
  ) {}

  done(): boolean {
    return this.pos >= this.src.length;
  }

  parseAlternation(): Node {
    let left = this.parseConcat();
    while (this.src[this.pos] === '|') {
      this.pos++;
      left = { kind: 'alt', left, right: this.parseConcat() };
    }
    return left;
  }

  private parseConcat(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') items.push(this.parseRepeat());
    return items.length === 1 ? items[0] : items.length ? { kind: 'concat', items } : { kind: 'empty' };
  }

  private parseRepeat(): Node {
    let node = this.parseAtom();
    for (;;) {
      const c = this.src[this.pos];
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, -1];
      else if (c === '+') [min, max] = [1, -1];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.pos))) {
        const [, lo, comma, hi] = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos)) as RegExpExecArray;
        min = Number(lo);
        max = comma === undefined ? min : hi ? Number(hi) : -1;
        if (min > MAX_REPEAT || max > MAX_REPEAT || (max !== -1 && max < min)) throw new Unsupported('bad repeat');
        this.pos += this.src.slice(this.pos).indexOf('}');
      } else return node;
      this.pos++;
      if (node.kind === 'begin' || node.kind === 'end' || node.kind === 'empty') throw new Unsupported('missing argument to repetition operator');
      if (this.src[this.pos] === '?') this.pos++; // lazy: same set of matches
      const after = this.src[this.pos];
      if (after === '*' || after === '+' || after === '?') throw new Unsupported('invalid nested repetition operator');
      node = { kind: 'repeat', node, min, max };
    }
  }

  private parseAtom(): Node {
    const c = this.src[this.pos++];
    switch (c) {
      case '(': {
        if (this.src.startsWith('?:', this.pos)) this.pos += 2;
        else if (this.src[this.pos] === '?') throw new Unsupported('flags and named groups');
        const inner = this.parseAlternation();
        if (this.src[this.pos++] !== ')') throw new Unsupported('missing )');
        return inner;
      }
      case '[':
        return { kind: 'char', test: this.parseClass() };
      case '.':
        return { kind: 'char', test: (x) => x !== '\n' };
      case '^':
        return { kind: 'begin' };
      case '$':
        return { kind: 'end' };
      case '\\':
        return this.parseEscape();
      case '*':
      case '+':
      case '?':
      case ')':
        throw new Unsupported('missing argument to repetition operator');
      default:
        return { kind: 'char', test: this.literal(c) };
    }
  }

  private parseEscape(): Node {
    const e = this.src[this.pos++];
    if (e === undefined) throw new Unsupported('trailing backslash');
    if (e === 'A') return { kind: 'begin' };
    if (e === 'z') return { kind: 'end' };
    const perl = PERL_CLASSES[e];
    if (perl) return { kind: 'char', test: perl };
    if (/[^\w\s]/.test(e)) return { kind: 'char', test: this.literal(e) };
    if (e === 'n' || e === 't' || e === 'r' || e === 'f' || e === 'v') return { kind: 'char', test: this.literal(CONTROL[e]) };
    throw new Unsupported(`escape \\${e}`);
  }

  private parseClass(): CharTest {
    const negate = this.src[this.pos] === '^';
    if (negate) this.pos++;
    const tests: CharTest[] = [];
    let first = true;
    while (this.pos < this.src.length && (this.src[this.pos] !== ']' || first)) {
      first = false;
      if (this.src.startsWith('[:', this.pos)) throw new Unsupported('POSIX classes');
      let lo = this.src[this.pos++];
      if (lo === '\\') {
        const e = this.src[this.pos++] ?? '';
        const perl = PERL_CLASSES[e];
        if (perl) {
          tests.push(perl);
          continue;
        }
        if (CONTROL[e]) lo = CONTROL[e];
        else if (/[^\w\s]/.test(e)) lo = e;
        else throw new Unsupported(`escape \\${e} in class`);
      }
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
        this.pos++;
        let hi = this.src[this.pos++];
        if (hi === '\\') hi = this.src[this.pos++] ?? '';
        if (hi < lo) throw new Unsupported('invalid character class range');
        tests.push(this.fold ? (x) => inRange(x.toLowerCase(), lo, hi) || inRange(x.toUpperCase(), lo, hi) : (x) => inRange(x, lo, hi));
      } else tests.push(this.literal(lo));
    }
    if (this.src[this.pos++] !== ']') throw new Unsupported('missing ]');
    return negate ? (x) => !tests.some((t) => t(x)) : (x) => tests.some((t) => t(x));
  }

  private literal(c: string): CharTest {
    if (!this.fold) return (x) => x === c;
    const lower = c.toLowerCase();
    return (x) => x.toLowerCase() === lower;
  }
}

const inRange = (x: string, lo: string, hi: string): boolean => x >= lo && x <= hi;
const CONTROL: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v' };
const isDigit: CharTest = (x) => x >= '0' && x <= '9';
const isWord: CharTest = (x) => /[0-9A-Za-z_]/.test(x);
const isSpace: CharTest = (x) => x === ' ' || x === '\t' || x === '\n' || x === '\r' || x === '\f' || x === '\v';
const PERL_CLASSES: Record<string, CharTest> = {
  d: isDigit,
  D: (x) => !isDigit(x),
  w: isWord,
  W: (x) => !isWord(x),
  s: isSpace,
  S: (x) => !isSpace(x),
};

/** Emits `node` so that it continues at `next`; returns its entry. Built back to front. */
function emit(node: Node, insts: Inst[], next: number): number {
  if (insts.length > MAX_INSTS) throw new Unsupported('pattern too large');
  const push = (inst: Inst): number => insts.push(inst) - 1;
  switch (node.kind) {
    case 'char':
      return push({ op: 'char', test: node.test, next });
    case 'begin':
      return push({ op: 'begin', next });
    case 'end':
      return push({ op: 'end', next });
    case 'empty':
      return next;
    case 'concat': {
      let entry = next;
      for (let i = node.items.length - 1; i >= 0; i--) entry = emit(node.items[i], insts, entry);
      return entry;
    }
    case 'alt':
      return push({ op: 'split', x: emit(node.left, insts, next), y: emit(node.right, insts, next) });
    case 'repeat':
      return emitRepeat(node, insts, next);
  }
}

function emitRepeat(node: Extract<Node, { kind: 'repeat' }>, insts: Inst[], next: number): number {
  let entry = next;
  if (node.max === -1) {
    // A loop: split → (body → back to the split) | next.
    const split = insts.push({ op: 'split', x: -1, y: next }) - 1;
    const body = emit(node.node, insts, split);
    (insts[split] as { x: number }).x = body;
    entry = split;
  } else {
    for (let i = node.min; i < node.max; i++) {
      const body = emit(node.node, insts, entry);
      entry = insts.push({ op: 'split', x: body, y: next }) - 1;
      next = entry;
    }
  }
  for (let i = 0; i < node.min; i++) entry = emit(node.node, insts, entry);
  return entry;
}

/** Thompson simulation: every live thread advances on each character; unanchored (search) match. */
function runProgram(program: Program, input: string): boolean {
  const { insts } = program;
  const chars = [...input];
  const mark = new Int32Array(insts.length).fill(-1);
  let generation = 0;

  /** Follows empty transitions from `pc` at `pos`, collecting the threads waiting on a character. */
  const add = (list: number[], pc: number, pos: number): boolean => {
    const stack = [pc];
    while (stack.length) {
      const at = stack.pop() as number;
      if (mark[at] === generation) continue;
      mark[at] = generation;
      const inst = insts[at];
      switch (inst.op) {
        case 'match':
          return true;
        case 'jmp':
          stack.push(inst.x);
          break;
        case 'split':
          stack.push(inst.y, inst.x);
          break;
        case 'begin':
          if (pos === 0) stack.push(inst.next);
          break;
        case 'end':
          if (pos === chars.length) stack.push(inst.next);
          break;
        case 'char':
          list.push(at);
          break;
      }
    }
    return false;
  };

  let current: number[] = [];
  for (let pos = 0; ; pos++) {
    if (add(current, program.start, pos)) return true;
    if (pos === chars.length) return false;
    generation++;
    const next: number[] = [];
    for (const pc of current) {
      const inst = insts[pc] as Extract<Inst, { op: 'char' }>;
      if (inst.test(chars[pos]) && add(next, inst.next, pos + 1)) return true;
    }
    current = next;
  }
}
