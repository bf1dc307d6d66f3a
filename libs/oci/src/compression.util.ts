import { createGunzip } from 'node:zlib';
import { ArchiveError } from './archive-errors';
import { writeChunk } from './stream.util';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

/** Bytes needed to recognise every supported magic number. */
export const COMPRESSION_MAGIC_LENGTH = 6;

/** Recognises a compressed stream by its first bytes, as dockerd's `DetectCompression` does. */
export function detectCompression(head: Uint8Array): Compression {
  const starts = (...magic: number[]): boolean => magic.every((byte, i) => head[i] === byte);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  return 'none';
}

/** Filled in while `decompress` runs. */
export interface DecompressProgress {
  compression: Compression | null;
  /** Raw (possibly compressed) bytes taken from the source so far. */
  compressedBytes: number;
}

/**
 * Yields the bytes of `source`, gunzipped when they start with the gzip magic. Other compressions
 * are refused with a clear message naming `what` ("layer", "image archive").
 */
export async function* decompress(
  source: AsyncIterable<Buffer>,
  progress: DecompressProgress,
  what: string,
): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  try {
    const head: Buffer[] = [];
    let headLength = 0;
    while (headLength < COMPRESSION_MAGIC_LENGTH) {
      const next = await it.next();
      if (next.done) break;
      head.push(next.value);
      headLength += next.value.length;
    }
    const first = Buffer.concat(head);
    progress.compressedBytes += first.length;
    const compression = detectCompression(first);
    progress.compression = compression;

    if (compression === 'gzip') {
      yield* gunzip(first, it, progress, what);
      return;
    }
    if (compression !== 'none') {
      throw new ArchiveError(
        `${what} is ${compression}-compressed, which is not supported yet; send it uncompressed or gzip-compressed`,
      );
    }
    if (first.length > 0) yield first;
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      progress.compressedBytes += next.value.length;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}

async function* gunzip(
  first: Buffer,
  rest: AsyncIterator<Buffer>,
  progress: DecompressProgress,
  what: string,
): AsyncGenerator<Buffer> {
  // 256 KiB output chunks instead of zlib's 16 KiB: 16× fewer callbacks, hashes and tar writes per layer.
  const inflater = createGunzip({ chunkSize: 256 * 1024 });
  let sourceError: unknown = null;
  const pump = (async () => {
    try {
      await writeChunk(inflater, first);
      for (;;) {
        const next = await rest.next();
        if (next.done) break;
        progress.compressedBytes += next.value.length;
        await writeChunk(inflater, next.value);
      }
      inflater.end();
    } catch (err) {
      // An error of the source, not of the gzip data: keep it to rethrow as is.
      if (!inflater.destroyed) sourceError = err;
      inflater.destroy(err as Error);
    }
  })();
  try {
    for await (const chunk of inflater) yield chunk as Buffer;
  } catch (err) {
    if (sourceError !== null) throw sourceError;
    throw new ArchiveError(`${what} is not valid gzip data: ${(err as Error).message}`);
  } finally {
    inflater.destroy();
    await pump;
  }
}
