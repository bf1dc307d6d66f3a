import { createCipheriv, createHash } from 'node:crypto';

/** How generated fixture content is filled: incompressible pseudo-random bytes, or zeros. */
export type GeneratedFill = 'random' | 'zeros';

const CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/**
 * Yields `size` bytes in chunks of at most 1 MiB without ever holding more than one chunk.
 * 'random' is an AES-256-CTR keystream keyed by `seed`: the same seed gives the same bytes on
 * every machine, it does not compress, and it runs at GB/s (fast enough for 300 MB fixtures).
 */
export function* deterministicBytes(size: number, fill: GeneratedFill, seed = ''): Generator<Buffer> {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`generated content size must be a non-negative integer, got ${size}`);
  const cipher =
    fill === 'random' ? createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16)) : undefined;
  for (let left = size; left > 0; left -= CHUNK) {
    const zeros = left >= CHUNK ? ZEROS : ZEROS.subarray(0, left);
    // A fresh buffer per chunk for 'random': consumers may keep a reference while queued.
    yield cipher ? cipher.update(zeros) : zeros;
  }
}

/** Deterministic random bytes as one buffer; for small contents only. */
export function deterministicBuffer(size: number, seed: string): Buffer {
  return Buffer.concat([...deterministicBytes(size, 'random', seed)]);
}
