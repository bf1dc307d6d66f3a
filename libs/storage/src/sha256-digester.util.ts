import { createHash } from 'node:crypto';
import type { TransformCallback } from 'node:stream';
import { Transform } from 'node:stream';
import type { BlobDigest } from './blob-store';
import { SizeMismatchError } from './blob-store';

/**
 * Pass-through stream that hashes and counts what flows through it. With `maxBytes` it fails
 * as soon as more arrives than the writer promised, instead of storing the excess first.
 */
export class Sha256Digester extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private result: BlobDigest | undefined;

  /** `hashing: false` only counts (staging, where nothing is content-addressed yet). */
  constructor(
    private readonly maxBytes?: number,
    private readonly hashing = true,
  ) {
    super();
  }

  get size(): number {
    return this.bytes;
  }

  /** The digest of everything that passed; only valid once the stream has ended. */
  digest(): BlobDigest {
    if (!this.hashing) throw new Error('Sha256Digester.digest() called on a counting-only digester');
    if (!this.result) throw new Error('Sha256Digester.digest() called before the stream ended');
    return this.result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.maxBytes !== undefined && this.bytes > this.maxBytes) {
      callback(new SizeMismatchError(this.maxBytes, this.bytes));
      return;
    }
    if (this.hashing) this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.hashing) this.result = `sha256:${this.hash.digest('hex')}`;
    callback();
  }
}
