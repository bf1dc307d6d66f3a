import { ArchiveError, decompress, UnsafeArchiveError } from '@cargohold/oci';
import * as tar from 'tar-stream';
import { cleanRelative } from '@cargohold/context-index';
import type { TreeEntry, TreeWriter } from './tree-writer';

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
    // Plain or gzip; other compressions are refused (Node has no bzip2 or xz decoder).
    for await (const chunk of decompress(source, { compression: null, compressedBytes: 0 }, label)) {
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
