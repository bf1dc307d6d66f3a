import { compareNames, dirnameRel } from './paths';

/** One file, directory or symlink of a build context, as extracting the context tar would leave it. */
export interface IndexNode {
  readonly type: 'file' | 'directory' | 'symlink';
  /** Permission bits with setuid/setgid/sticky (0o7777); 0o777 for a symlink, as lstat shows it. */
  readonly mode: number;
  /** Bytes, for a file; 0 otherwise. */
  readonly size: number;
  /** sha256 (hex) of a file's content. */
  readonly digest?: string;
  /** A symlink's target, as stored. */
  readonly linkTarget?: string;
  readonly mtimeMs: number;
}

const FORMAT = 1;
const TYPES = { f: 'file', d: 'directory', l: 'symlink' } as const;
const CODES = { file: 'f', directory: 'd', symlink: 'l' } as const;

type Row = [path: string, type: 'f' | 'd' | 'l', mode: number, size: number, extra: string, mtimeMs: number];

/** A stored index that cannot be read back: produced by another version, or damaged. */
export class ContextIndexFormatError extends Error {
  constructor(message: string) {
    super(`build context index: ${message}`);
    this.name = 'ContextIndexFormatError';
  }
}

/**
 * What a build context holds, path by path (clean context-relative paths, `src/app.js`), with
 * every file's content digest and the bytes of a few files kept whole (the Dockerfile and
 * `.dockerignore`). Built while the context streams in (see ContextIndexer), it lets a build
 * resolve and checksum its COPY/ADD sources, and so find every step in the cache, without
 * extracting the context at all.
 */
export class ContextIndex {
  private children: Map<string, string[]> | null = null;

  constructor(
    private readonly nodes: ReadonlyMap<string, IndexNode>,
    private readonly keptFiles: ReadonlyMap<string, Buffer>,
  ) {}

  get size(): number {
    return this.nodes.size;
  }

  /** The node at a clean relative path (`` is the context root, always a directory). */
  get(rel: string): IndexNode | null {
    if (rel === '') return ROOT;
    return this.nodes.get(rel) ?? null;
  }

  /** Names in a directory, in byte order; null when `rel` is not a directory. */
  list(rel: string): readonly string[] | null {
    if (this.get(rel)?.type !== 'directory') return null;
    this.children ??= this.buildChildren();
    return this.children.get(rel) ?? [];
  }

  /** The content of a file kept whole while indexing; null when it was not kept (or is not a file). */
  kept(rel: string): Buffer | null {
    return this.keptFiles.get(rel) ?? null;
  }

  toBuffer(): Buffer {
    const rows: Row[] = [];
    for (const [path, node] of this.nodes) {
      rows.push([path, CODES[node.type], node.mode, node.size, node.digest ?? node.linkTarget ?? '', node.mtimeMs]);
    }
    const kept = Object.fromEntries([...this.keptFiles].map(([path, data]) => [path, data.toString('base64')]));
    return Buffer.from(JSON.stringify({ format: FORMAT, rows, kept }));
  }

  static fromBuffer(data: Buffer): ContextIndex {
    let parsed: { format?: unknown; rows?: unknown; kept?: unknown };
    try {
      parsed = JSON.parse(data.toString('utf8')) as typeof parsed;
    } catch {
      throw new ContextIndexFormatError('not valid JSON');
    }
    if (parsed.format !== FORMAT) throw new ContextIndexFormatError(`format ${String(parsed.format)} is not ${FORMAT}`);
    if (!Array.isArray(parsed.rows) || typeof parsed.kept !== 'object' || parsed.kept === null) throw new ContextIndexFormatError('unexpected shape');
    const nodes = new Map<string, IndexNode>();
    for (const row of parsed.rows as unknown[]) {
      if (!isRow(row)) throw new ContextIndexFormatError(`bad row ${JSON.stringify(row)}`);
      const [path, code, mode, size, extra, mtimeMs] = row;
      const type = TYPES[code];
      nodes.set(path, {
        type,
        mode,
        size,
        mtimeMs,
        ...(type === 'file' ? { digest: extra } : type === 'symlink' ? { linkTarget: extra } : {}),
      });
    }
    const kept = new Map<string, Buffer>();
    for (const [path, b64] of Object.entries(parsed.kept as Record<string, unknown>)) {
      if (typeof b64 !== 'string') throw new ContextIndexFormatError(`bad kept file ${path}`);
      kept.set(path, Buffer.from(b64, 'base64'));
    }
    return new ContextIndex(nodes, kept);
  }

  private buildChildren(): Map<string, string[]> {
    const children = new Map<string, string[]>();
    for (const path of this.nodes.keys()) {
      const parent = dirnameRel(path);
      const name = parent === '' ? path : path.slice(parent.length + 1);
      const list = children.get(parent);
      if (list) list.push(name);
      else children.set(parent, [name]);
    }
    for (const list of children.values()) list.sort(compareNames);
    return children;
  }
}

const ROOT: IndexNode = { type: 'directory', mode: 0o755, size: 0, mtimeMs: 0 };

function isRow(row: unknown): row is Row {
  return (
    Array.isArray(row) &&
    row.length === 6 &&
    typeof row[0] === 'string' &&
    row[0] !== '' &&
    (row[1] === 'f' || row[1] === 'd' || row[1] === 'l') &&
    Number.isInteger(row[2]) &&
    Number.isInteger(row[3]) &&
    typeof row[4] === 'string' &&
    typeof row[5] === 'number'
  );
}
