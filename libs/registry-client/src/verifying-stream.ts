import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import type { TransformCallback } from 'node:stream';
import { Transform } from 'node:stream';
import { parseDigest } from '@cargohold/oci';
import { RegistryError } from './registry-errors';

/**
 * A pass-through that checks the bytes against `digest` and `size`: it errors with
 * `RegistryError('digest mismatch …')` at the end when the content hashes differently, and as
 * soon as more than `size` bytes arrive (or at the end when fewer did). Nothing downstream may
 * treat the data as valid before this stream has finished without error.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private readonly algorithm: string;
  /** Bytes seen so far. */
  received = 0;

  constructor(
    readonly digest: string,
    readonly size: number,
  ) {
    super();
    const parsed = parseDigest(digest);
    this.algorithm = parsed.algorithm;
    this.hash = createHash(parsed.algorithm);
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`blob size must be a non-negative integer, got ${size}`);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.size) {
      callback(new RegistryError(`size mismatch for ${this.digest}: expected ${this.size} bytes, received more (${this.received} so far)`, { code: 'SIZE_INVALID' }));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.received !== this.size) {
      callback(new RegistryError(`size mismatch for ${this.digest}: expected ${this.size} bytes, received ${this.received}`, { code: 'SIZE_INVALID' }));
      return;
    }
    const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.digest) {
      callback(new RegistryError(`digest mismatch: expected ${this.digest}, the content hashes to ${actual}`, { code: 'DIGEST_INVALID' }));
      return;
    }
    callback();
  }
}

/** See VerifyingStream. */
export function verifyingStream(digest: string, size: number): VerifyingStream {
  return new VerifyingStream(digest, size);
}
