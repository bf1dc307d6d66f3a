import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/** A sha256 content address, the only algorithm cargohold computes: `sha256:<64 lowercase hex>`. */
export type Sha256Digest = `sha256:${string}`;

/** Algorithms go-digest registers (and dockerd therefore accepts), with their hex lengths. */
const HEX_LENGTH = { sha256: 64, sha384: 96, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof HEX_LENGTH;

/** The grammar of any digest, as go-digest's `DigestRegexpAnchored` (algorithm may be unsupported). */
export const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A canonical sha256 digest. */
export const SHA256_DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** The hex part after the colon. */
  encoded: string;
  /** The whole digest, `algorithm:encoded`. */
  digest: string;
}

/** Thrown for a malformed digest; the message is go-digest's text, which dockerd shows as is. */
export class InvalidDigestError extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
    this.name = 'InvalidDigestError';
  }
}

function isAlgorithm(value: string): value is DigestAlgorithm {
  return Object.prototype.hasOwnProperty.call(HEX_LENGTH, value);
}

/** Validates a digest exactly as go-digest's `Digest.Validate` does (same checks, same messages). */
export function parseDigest(input: string): ParsedDigest {
  const sep = input.indexOf(':');
  if (sep <= 0 || sep + 1 === input.length) throw new InvalidDigestError('invalid checksum digest format', input);
  const algorithm = input.slice(0, sep);
  const encoded = input.slice(sep + 1);
  if (!isAlgorithm(algorithm)) {
    if (!DIGEST_RE.test(input)) throw new InvalidDigestError('invalid checksum digest format', input);
    throw new InvalidDigestError('unsupported digest algorithm', input);
  }
  if (encoded.length !== HEX_LENGTH[algorithm]) throw new InvalidDigestError('invalid checksum digest length', input);
  if (!/^[a-f0-9]+$/.test(encoded)) throw new InvalidDigestError('invalid checksum digest format', input);
  return { algorithm, encoded, digest: input };
}

/** True when `input` is a valid digest of a supported algorithm. */
export function isDigest(input: string): boolean {
  try {
    parseDigest(input);
    return true;
  } catch {
    return false;
  }
}

/** True for `sha256:<64 lowercase hex>`, the only form blobs are stored under. */
export function isSha256Digest(input: string): input is Sha256Digest {
  return SHA256_DIGEST_RE.test(input);
}

export function sha256Of(data: Buffer | Uint8Array | string): Sha256Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A pass-through stream that hashes (sha256) and counts the bytes flowing through it. */
export class Digester extends Transform {
  private readonly hash = createHash('sha256');
  private result: Sha256Digest | null = null;
  /** Bytes seen so far; final once the stream has finished. */
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}`;
    callback();
  }

  /** The sha256 of everything written; valid after 'finish' / 'end'. */
  digest(): Sha256Digest {
    if (this.result === null) throw new Error('digest() called before the stream finished');
    return this.result;
  }
}

export function createDigester(): Digester {
  return new Digester();
}
