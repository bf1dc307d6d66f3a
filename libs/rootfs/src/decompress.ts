import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ArchiveError } from '@cargohold/oci';

/** Bytes needed to recognise every magic number below. */
const MAGIC_LENGTH = 6;

function compressionOf(head: Buffer): 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none' {
  const starts = (...magic: number[]): boolean => magic.every((byte, i) => head[i] === byte);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  return 'none';
}

async function* rest(first: Buffer, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (first.length > 0) yield first;
  for (;;) {
    const next = await it.next();
    if (next.done) return;
    yield next.value;
  }
}

/**
 * The tar bytes of a layer: `source` as is, or gunzipped when it starts with the gzip magic (as
 * moby's DecompressStream detects it). Other compressions are refused by name.
 */
export async function* layerTarBytes(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let length = 0;
  while (length < MAGIC_LENGTH) {
    const next = await it.next();
    if (next.done) break;
    head.push(next.value);
    length += next.value.length;
  }
  const first = Buffer.concat(head);
  const compression = compressionOf(first);
  if (compression === 'none') {
    yield* rest(first, it);
    return;
  }
  if (compression !== 'gzip') {
    await it.return?.();
    throw new ArchiveError(`layer is ${compression}-compressed, which is not supported; use an uncompressed or gzip-compressed layer`);
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const feeding = pipeline(Readable.from(rest(first, it), { objectMode: false }), gunzip);
  // Its failures surface in the loop below: a source error or a zlib error destroys gunzip with it.
  feeding.catch(() => undefined);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (isZlibError(err)) throw new ArchiveError(`layer is not valid gzip data: ${(err as Error).message}`);
    throw err;
  } finally {
    gunzip.destroy();
  }
}

function isZlibError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'errno' in err && 'code' in err && String((err as { code: unknown }).code).startsWith('Z_');
}
