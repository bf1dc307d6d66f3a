import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ArchiveError, UnsafeArchiveError } from '@cargohold/oci';
import * as tar from 'tar-stream';
import { cleanRelative } from '@cargohold/context-index';
import type { TreeEntry, TreeWriter } from './tree-writer';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** Recognises a compressed stream by its magic number (moby's DetectCompression). */
export function detectCompression(head: Uint8Array): Compression {
  const starts = (...magic: number[]): boolean => magic.every((byte, i) => head[i] === byte);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

const MAGIC_BYTES = 6;

/**
 * The bytes of `source`, gunzipped when they start with the gzip magic. Other compressions are
 * refused: Node has no bzip2 or xz decoder, and zstd only from Node 22.
 */
export async function* plainBytes(source: AsyncIterable<Buffer>, label: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  try {
    const head: Buffer[] = [];
    let headLength = 0;
    let ended = false;
    while (headLength < MAGIC_BYTES) {
      const next = await it.next();
      if (next.done) {
        ended = true;
        break;
      }
      head.push(next.value);
      headLength += next.value.length;
    }
    const first = Buffer.concat(head);
    const compression = detectCompression(first);
    if (compression === 'none') {
      if (first.length > 0) yield first;
      if (!ended) for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
      return;
    }
    if (compression !== 'gzip') {
      throw new ArchiveError(
        `${label} is ${compression}-compressed, which is not supported; send it uncompressed or gzip-compressed`,
      );
    }
    yield* gunzip(first, ended ? null : it, label);
  } finally {
    // Stops (and for a Readable, destroys) the source when the reader gives up early.
    await it.return?.();
  }
}

async function* gunzip(first: Buffer, rest: AsyncIterator<Buffer> | null, label: string): AsyncGenerator<Buffer> {
  const input = Readable.from(
    (async function* () {
      yield first;
      if (rest) for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
    })(),
  );
  const inflater = createGunzip({ chunkSize: 256 * 1024 });
  let inputError: unknown = null;
  input.once('error', (err) => {
    inputError = err;
    inflater.destroy(err);
  });
  input.pipe(inflater);
  try {
    for await (const chunk of inflater) yield chunk as Buffer;
  } catch (err) {
    if (inputError !== null) throw inputError;
    throw new ArchiveError(`${label} is not valid gzip data: ${(err as Error).message}`);
  } finally {
    input.destroy();
    inflater.destroy();
  }
}

export interface UnpackOptions {
  /** Names the archive in messages (`build context`, `archive /app.tar`). */
  label: string;
  writer: TreeWriter;
  /** Refuse once the uncompressed tar grows past this many bytes. */
  maxBytes?: number;
  /** Entries for which this answers false are read past and not written. */
  accept?: (path: string) => boolean;
}

export interface UnpackResult {
  /** Entries written other than directories. */
  files: number;
  /** Bytes of regular-file content written. */
  bytes: number;
}

/** `type` is null at run time for type flags tar-stream does not know. */
type Header = Omit<tar.Header, 'type'> & { type: tar.Header['type'] | null };
type EntryStream = tar.ExtractEvents['entry'][1];

/** Streams a (plain or gzip) tar into `options.writer`, refusing hostile entries. */
export async function unpackTar(source: AsyncIterable<Buffer>, options: UnpackOptions): Promise<UnpackResult> {
  const { label } = options;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const result: UnpackResult = { files: 0, bytes: 0 };
  const tooLarge = (): UnsafeArchiveError =>
    new UnsafeArchiveError(`${label} is larger than the limit of ${maxBytes} bytes`);

  // Pre-POSIX (v7) headers are accepted, as Go's archive/tar accepts them.
  const extractOptions: NonNullable<Parameters<typeof tar.extract>[0]> & { allowUnknownFormat: boolean } = {
    allowUnknownFormat: true,
  };
  const extract = tar.extract(extractOptions);
  let entryError: Error | null = null;
  let tarError: Error | null = null;
  let current = '';
  let declared = 0;
  // The entry being written, so a failure is only reported once nothing is still writing.
  let inflight: Promise<void> = Promise.resolve();

  extract.on('entry', (header: Header, stream: EntryStream, next: (err?: Error | null) => void) => {
    current = header.name;
    // Destroying the extractor errors the entry stream too; the failure is reported once, below.
    stream.on('error', () => undefined);
    declared += header.size ?? 0;
    const work = declared > maxBytes ? Promise.reject(tooLarge()) : writeEntry(header, stream, options, result);
    inflight = work.catch(() => undefined);
    work.then(
      () => next(),
      (err: Error) => {
        stream.resume();
        // Once the extractor is failing (a bad header, the input cut short, a limit), the entry
        // only saw its stream destroyed: the extractor's own error is the one to report.
        if (extract.destroying) return;
        entryError ??= err;
        extract.destroy(err);
      },
    );
  });
  extract.on('error', (err: Error) => {
    tarError ??= err;
  });
  const finished = new Promise<void>((resolve, reject) => {
    extract.once('finish', resolve);
    extract.once('close', () => reject(entryError ?? tarError ?? new ArchiveError(`${label} stream closed early`)));
  });
  finished.catch(() => undefined);

  try {
    let size = 0;
    for await (const chunk of plainBytes(source, label)) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge();
      // The extractor may have been destroyed by a refused entry while we waited for input.
      if (entryError || tarError) break;
      if (!extract.write(chunk)) await drained(extract);
    }
    if (entryError || tarError) throw entryError ?? tarError;
    extract.end(undefined);
    await finished;
    await options.writer.finish();
  } catch (err) {
    extract.destroy();
    await inflight;
    if (entryError) throw entryError;
    if (err instanceof ArchiveError) throw err;
    if (tarError) throw describeTarError(tarError, label, current);
    throw err;
  }
  return result;
}

function drained(extract: tar.Extract): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      extract.off('drain', done);
      extract.off('close', closed);
      resolve();
    };
    const closed = (): void => {
      extract.off('drain', done);
      reject(new Error('tar stream closed'));
    };
    extract.once('drain', done);
    extract.once('close', closed);
  });
}

function describeTarError(err: Error, label: string, current: string): ArchiveError {
  if (/unexpected end of data/i.test(err.message)) {
    const where = current ? `inside entry "${current}"` : 'inside a tar header';
    return new ArchiveError(`${label} is truncated: the tar stream ended ${where}`, current || undefined);
  }
  const after = current ? ` after entry "${current}"` : '';
  return new ArchiveError(`${label} is not a valid tar archive: ${err.message}${after}`, current || undefined);
}

const KINDS: Record<string, TreeEntry['type']> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'hardlink',
};

async function writeEntry(header: Header, stream: EntryStream, options: UnpackOptions, result: UnpackResult): Promise<void> {
  const { label, writer } = options;
  const type = header.type ? KINDS[header.type] : undefined;
  if (type === undefined) {
    const what = header.type ? `a ${header.type}` : 'of an unknown tar type';
    throw new UnsafeArchiveError(`${label} entry "${header.name}" is ${what}, which a build does not create`, header.name);
  }
  const path = cleanRelative(header.name);
  if (path === null) {
    throw new UnsafeArchiveError(`${label} entry "${header.name}" climbs out of its root with ".."`, header.name);
  }
  if (path === '' || (options.accept && !options.accept(path))) {
    stream.resume();
    return;
  }
  const entry: TreeEntry = {
    path,
    type,
    mode: (header.mode ?? 0o644) & 0o7777,
    uid: header.uid ?? 0,
    gid: header.gid ?? 0,
    mtime: header.mtime ?? new Date(0),
    linkname: header.linkname ?? undefined,
  };
  switch (type) {
    case 'file':
      result.bytes += await writer.file(entry, stream as AsyncIterable<Buffer>);
      result.files++;
      return;
    case 'directory':
      stream.resume();
      await writer.directory(entry);
      return;
    case 'symlink':
      stream.resume();
      await writer.symlink(entry);
      result.files++;
      return;
    case 'hardlink':
      stream.resume();
      await writer.hardlink(entry);
      result.files++;
      return;
  }
}
