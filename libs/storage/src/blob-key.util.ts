import type { BlobDigest, BlobExpectation, BlobInfo, ByteRange } from './blob-store';
import { DigestMismatchError, SizeMismatchError } from './blob-store';
import { InvalidDigestError, InvalidStagingKeyError, RangeNotSatisfiableError } from './blob-store.errors';

const DIGEST = /^sha256:([0-9a-f]{64})$/;
// Portable as a file name and an S3 key, and never a path: no separators, no "..".
const STAGING_KEY = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/** The hex part of a sha256 digest; throws InvalidDigestError for anything else. */
export function digestHex(digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match) throw new InvalidDigestError(digest);
  return match[1];
}

/** Relative object path of a blob, shared by both drivers: `blobs/sha256/<hex>`. */
export function blobPath(digest: string): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/** Throws InvalidStagingKeyError unless `key` is safe to use as a single path segment. */
export function assertStagingKey(key: string): void {
  if (!STAGING_KEY.test(key) || key.includes('..')) throw new InvalidStagingKeyError(key);
}

/** Validate an expectation before any byte is read, so a bad caller fails fast. */
export function assertExpectation(expect: BlobExpectation | undefined): void {
  if (expect?.digest !== undefined) digestHex(expect.digest);
  if (expect?.size !== undefined && !(Number.isSafeInteger(expect.size) && expect.size >= 0)) {
    throw new RangeError(`expected size must be a non-negative integer, got ${expect.size}`);
  }
}

/** Throws when what was received differs from what the writer promised. */
export function verifyExpectation(expect: BlobExpectation | undefined, actual: BlobInfo): void {
  if (expect?.size !== undefined && expect.size !== actual.size) throw new SizeMismatchError(expect.size, actual.size);
  if (expect?.digest !== undefined && expect.digest !== actual.digest) throw new DigestMismatchError(expect.digest, actual.digest);
}

/**
 * Check a range's shape (and, when the size is known, that it selects at least one byte).
 * `{ start: 0 }` without an end means the whole blob, even an empty one.
 */
export function assertRange(digest: BlobDigest, range: ByteRange, size?: number): void {
  const { start, end } = range;
  const wellFormed = Number.isSafeInteger(start) && start >= 0 && (end === undefined || (Number.isSafeInteger(end) && end >= start));
  if (!wellFormed) throw new RangeNotSatisfiableError(digest, range, size);
  if (size !== undefined && start >= size && !(start === 0 && end === undefined)) {
    throw new RangeNotSatisfiableError(digest, range, size);
  }
}
