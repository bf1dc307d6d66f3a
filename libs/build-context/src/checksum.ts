import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { READ_CHUNK } from './fs-util';
import type { ResolvedSource, SourceEntry } from './types';

/** Bumped whenever the record layout changes, so old cache keys can never collide with new ones. */
const FORMAT = 'cargohold-sources-v1';

/**
 * The checksum the build cache keys a COPY/ADD on: sha256 over, for each source in order, its kind,
 * its file name (files only: it names the copy in a directory destination), whether it came from
 * a URL, and every entry's source-relative path, type, permission bits, symlink target, size and
 * content sha256. Like the legacy builder's tarsum (v1) it leaves out mtimes, and also owners
 * (COPY replaces them) and where the context lies on disk. File contents are streamed, unless the
 * entry already carries its digest (resolved from a context index).
 */
export async function sourcesChecksum(sources: readonly ResolvedSource[]): Promise<string> {
  const digests = await digestFiles(sources.flatMap((source) => source.entries.filter((entry) => entry.type === 'file' && entry.digest === undefined)));
  const hash = createHash('sha256');
  // NUL separates fields: no path or name can contain it.
  const field = (value: string | number): void => {
    hash.update(String(value));
    hash.update('\0');
  };
  field(FORMAT);
  field(sources.length);
  for (const source of sources) {
    field(source.kind);
    field(source.kind === 'file' ? source.name : '');
    field(source.remote ? 'remote' : 'local');
    field(source.entries.length);
    for (const entry of source.entries) {
      field(entry.path);
      field(entry.type);
      field((entry.mode & 0o7777).toString(8));
      if (entry.type === 'symlink') field(entry.linkTarget ?? '');
      if (entry.type === 'file') {
        const { size, digest } = entry.digest === undefined ? digests.get(entry)! : { size: entry.size, digest: entry.digest };
        field(size);
        field(digest);
      }
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

/** Files hashed a few at a time: for many small files, opening them costs more than hashing. */
const PARALLEL_READS = 8;

async function digestFiles(files: SourceEntry[]): Promise<Map<SourceEntry, { size: number; digest: string }>> {
  const digests = new Map<SourceEntry, { size: number; digest: string }>();
  let next = 0;
  const worker = async (): Promise<void> => {
    // One read buffer per worker, reused file after file: allocating one per file made the
    // garbage collector the biggest cost of checksumming thousands of small files.
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    while (next < files.length) {
      const file = files[next++];
      digests.set(file, await fileDigest(file.hostPath, buffer));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, files.length) }, worker));
  return digests;
}

/** sha256 and length of a file's content (a final symlink is not followed), read through `buffer`. */
export async function fileDigest(hostPath: string, buffer: Buffer = Buffer.allocUnsafe(READ_CHUNK)): Promise<{ size: number; digest: string }> {
  const handle = await open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, digest: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}
