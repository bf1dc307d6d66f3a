import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { ContextIndex, type IndexNode } from './context-index';
import { cleanRelative, dirnameRel, joinRel } from './paths';

export interface ContextIndexerOptions {
  /** Context-relative files whose bytes are kept whole (the Dockerfile and `.dockerignore`). */
  keep: readonly string[];
  /** Give up (no index) past this many entries, so a huge context cannot exhaust memory. */
  maxEntries?: number;
  /** Give up when a file to keep is larger than this. */
  maxKeptBytes?: number;
}

/** Why no index was made: the build then extracts the context and reports any error itself. */
export type IndexOutcome = { index: ContextIndex } | { index: null; reason: string };

const DEFAULT_MAX_ENTRIES = 200_000;
const DEFAULT_MAX_KEPT_BYTES = 4 * 1024 * 1024;
const IMPLICIT_DIR_MODE = 0o755;
const SYMLINK_MODE = 0o777;

/** Not worth an index: the context is still fine, extraction decides. */
class Unindexable extends Error {}

type Header = Omit<tar.Header, 'type'> & { type: tar.Header['type'] | null };
type EntryStream = tar.ExtractEvents['entry'][1];

/** What the tapped bytes are written to: tar-stream's extractor (a streamx stream) or a gunzip in front of it. */
interface Sink {
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): unknown;
  destroy(): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * A Writable fed the build context tar exactly as the client sends it (plain or gzip), which
 * indexes it on the way: every entry's path, type, mode, size, symlink target and content sha256,
 * as extracting the tar into a directory would leave them (later directory entries update
 * earlier ones, missing parents are 0755 directories). It never fails the stream it taps: for
 * anything but the plain case (hard links, devices, duplicate or climbing names, an entry below
 * a symlink, a symlink pointing out, a malformed tar, another compression, too many entries) the
 * outcome is "no index", and the build extracts the context, refusing what it must as before.
 */
export class ContextIndexer extends Writable {
  readonly outcome: Promise<IndexOutcome>;
  private settle!: (outcome: IndexOutcome) => void;
  private readonly nodes = new Map<string, IndexNode>();
  private readonly kept = new Map<string, Buffer>();
  private readonly keep: Set<string>;
  private readonly maxEntries: number;
  private readonly maxKeptBytes: number;
  private head: Buffer | null = Buffer.alloc(0);
  private input: Sink | null = null;
  private failed: string | null = null;
  private ended = false;

  constructor(options: ContextIndexerOptions) {
    super();
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    this.keep = new Set(options.keep.map((name) => cleanRelative(name)).filter((name): name is string => !!name));
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxKeptBytes = options.maxKeptBytes ?? DEFAULT_MAX_KEPT_BYTES;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failed !== null) return callback();
    if (this.head !== null) {
      // Enough bytes to tell gzip from a plain tar.
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 3) return callback();
      chunk = this.head;
      this.head = null;
      this.input = this.pipeline(chunk[0] === 0x1f && chunk[1] === 0x8b && chunk[2] === 0x08);
    }
    const input = this.input!;
    if (input.write(chunk)) return callback();
    const resume = (): void => {
      input.off('drain', resume);
      input.off('close', resume);
      callback();
    };
    input.once('drain', resume);
    input.once('close', resume);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ended = true;
    if (this.failed === null && this.input === null) this.input = this.pipeline(false);
    this.input?.end(this.head && this.head.length ? this.head : undefined);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // After a normal end the stream destroys itself while the tar may still be parsing.
    if (error || !this.ended) this.fail(error ? `the upload failed: ${error.message}` : 'the upload ended early');
    callback(null);
  }

  private fail(reason: string): void {
    if (this.failed !== null) return;
    this.failed = reason;
    this.input?.destroy();
    this.settle({ index: null, reason });
  }

  private pipeline(gzip: boolean): Sink {
    const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
    extract.on('entry', (header: Header, stream: EntryStream, next: (err?: Error | null) => void) => {
      stream.on('error', () => undefined);
      this.entry(header, stream).then(
        () => next(),
        (err: Error) => {
          stream.resume();
          this.fail(err instanceof Unindexable ? err.message : `not a readable tar: ${err.message}`);
          extract.destroy();
        },
      );
    });
    extract.on('error', (err: Error) => this.fail(`not a readable tar: ${err.message}`));
    extract.on('finish', () => {
      if (this.failed === null) this.settle({ index: new ContextIndex(this.nodes, this.kept) });
    });
    if (!gzip) return extract;
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    gunzip.on('error', (err: Error) => this.fail(`not valid gzip: ${err.message}`));
    gunzip.pipe(extract);
    return gunzip;
  }

  private async entry(header: Header, stream: EntryStream): Promise<void> {
    const path = cleanRelative(header.name);
    if (path === null) throw new Unindexable(`entry "${header.name}" climbs out of the context`);
    const type = header.type === 'file' || header.type === 'contiguous-file' ? 'file' : header.type === 'directory' || header.type === 'symlink' ? header.type : null;
    if (type === null) throw new Unindexable(`entry "${header.name}" is ${header.type ? `a ${header.type}` : 'of an unknown type'}`);
    if (path === '') {
      stream.resume();
      return;
    }
    if (this.nodes.size >= this.maxEntries) throw new Unindexable(`more than ${this.maxEntries} entries`);
    this.ensureParents(path);
    const existing = this.nodes.get(path);
    if (existing && !(existing.type === 'directory' && type === 'directory')) throw new Unindexable(`entry "${path}" appears twice`);
    const mode = (header.mode ?? 0o644) & 0o7777;
    const mtimeMs = header.mtime?.getTime() ?? 0;
    switch (type) {
      case 'directory':
        stream.resume();
        this.nodes.set(path, { type, mode, size: 0, mtimeMs });
        return;
      case 'symlink': {
        stream.resume();
        const target = header.linkname ?? '';
        if (!target.startsWith('/') && cleanRelative(joinRel(dirnameRel(path), target)) === null) {
          throw new Unindexable(`symlink "${path}" points outside the context`);
        }
        this.nodes.set(path, { type, mode: SYMLINK_MODE, size: 0, mtimeMs, linkTarget: target });
        return;
      }
      case 'file': {
        const hash = createHash('sha256');
        const keep = this.keep.has(path);
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.length;
          if (keep && size <= this.maxKeptBytes) chunks.push(chunk);
        }
        if (keep) {
          if (size > this.maxKeptBytes) throw new Unindexable(`${path} is larger than ${this.maxKeptBytes} bytes`);
          this.kept.set(path, Buffer.concat(chunks));
        }
        this.nodes.set(path, { type, mode, size, mtimeMs, digest: hash.digest('hex') });
        return;
      }
    }
  }

  /** Missing parents become directories, as extraction creates them; a parent that is not one is not plain. */
  private ensureParents(path: string): void {
    const parent = dirnameRel(path);
    if (parent === '') return;
    const node = this.nodes.get(parent);
    if (node?.type === 'directory') return;
    if (node) throw new Unindexable(`entry "${path}" lies below the ${node.type} "${parent}"`);
    this.ensureParents(parent);
    this.nodes.set(parent, { type: 'directory', mode: IMPLICIT_DIR_MODE, size: 0, mtimeMs: 0 });
  }
}
