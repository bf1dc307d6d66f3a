import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';

/** Errors that mean "there is nothing at this path" (a missing entry, or a file in the way). */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/** Bytes read per call: large enough for big files, and one read covers most small ones. */
export const READ_CHUNK = 256 * 1024;

/**
 * The bytes of a file, opened without following a final symlink, only once reading starts (so a
 * reader that never starts leaves no descriptor open). `end` is the last byte offset to read.
 * Plain reads on the handle: a ReadStream per file costs more than the hashing of a small one.
 */
export async function* readFileNoFollow(path: string, options: { end?: number } = {}): AsyncGenerator<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const limit = options.end === undefined ? Number.POSITIVE_INFINITY : options.end + 1;
    let position = 0;
    while (position < limit) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, limit - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
