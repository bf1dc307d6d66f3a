import { constants } from 'node:fs';
import { Readable } from 'node:stream';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { type Compression, detectCompression } from '@cargohold/oci';
import { readFileNoFollow } from './fs-util';

const BLOCK = 512;
const CHECKSUM_AT = 148;
const CHECKSUM_LENGTH = 8;

export type ArchiveKind = { tar: true; compression: 'none' | 'gzip' } | { tar: false; compression: Compression };

/**
 * What ADD makes of a local file, as moby's isArchivePath decides: a tar (plain or gzip) when its
 * first (decompressed) block is a tar header with a valid checksum. bzip2, xz and zstd data cannot
 * be looked into here, so they come back as `{ tar: false, compression }` for the caller to refuse.
 */
export async function sniffArchive(hostPath: string): Promise<ArchiveKind> {
  const head = await readHead(hostPath);
  const compression = detectCompression(head);
  if (compression === 'none') return { tar: isTarHeader(head), compression };
  if (compression === 'gzip') return { tar: isTarHeader(await gunzipHead(hostPath)), compression };
  return { tar: false, compression };
}

async function readHead(hostPath: string): Promise<Buffer> {
  const handle = await open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buffer = Buffer.alloc(BLOCK);
    let length = 0;
    while (length < BLOCK) {
      const { bytesRead } = await handle.read(buffer, length, BLOCK - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** The first block of gunzipped data; whatever a broken gzip stream gave before it failed. */
async function gunzipHead(hostPath: string): Promise<Buffer> {
  const input = Readable.from(readFileNoFollow(hostPath));
  const inflater = createGunzip();
  input.on('error', (err) => inflater.destroy(err));
  input.pipe(inflater);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of inflater) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= BLOCK) break;
    }
  } catch {
    // Not gzip after all, or cut short: judged on what came out (usually nothing).
  } finally {
    input.destroy();
    inflater.destroy();
  }
  return Buffer.concat(chunks).subarray(0, BLOCK);
}

/** Go's archive/tar accepts a header block whose checksum matches, summed unsigned or signed. */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < BLOCK || block.every((byte) => byte === 0)) return false;
  const field = Buffer.from(block.subarray(CHECKSUM_AT, CHECKSUM_AT + CHECKSUM_LENGTH))
    .toString('latin1')
    .replace(/^[ \0]+|[ \0]+$/g, '');
  if (field !== '' && !/^[0-7]+$/.test(field)) return false;
  const expected = field === '' ? 0 : parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= CHECKSUM_AT && i < CHECKSUM_AT + CHECKSUM_LENGTH ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return expected === unsigned || expected === signed;
}
