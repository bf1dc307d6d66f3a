import type { Readable } from 'node:stream';

/** A content address: `sha256:<64 hex>`. */
export type BlobDigest = `sha256:${string}`;

export interface BlobInfo {
  digest: BlobDigest;
  size: number;
}

export interface BlobListing extends BlobInfo {
  /** When the blob was last written; the GC grace window is measured from it. */
  modified: Date;
}

/** What a writer promises about the bytes it streams; both are verified before the blob is visible. */
export interface BlobExpectation {
  digest?: BlobDigest;
  size?: number;
}

/** Inclusive byte range, as HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** Staged data is not content-addressed: it is hashed when (if) it is committed as a blob. */
export interface StagedInfo {
  key: string;
  size: number;
}

/**
 * Content-addressed blob storage. Blobs live at `blobs/sha256/<hex>`; staged data (uploads,
 * build contexts, archives waiting for a job) at `uploads/<key>`.
 *
 * Invariants every driver keeps (the contract suite checks them):
 * - `put` hashes while streaming and makes the blob visible only when digest and size match;
 *   on mismatch it throws and nothing becomes visible.
 * - concurrent `put`s of the same content are safe: all succeed, one blob results.
 * - memory stays flat whatever the blob size: nothing is buffered whole.
 */
export interface BlobStore {
  readonly driver: 'filesystem' | 's3';
  /** Size of a blob, or null when absent. */
  stat(digest: BlobDigest): Promise<BlobInfo | null>;
  /** Stream a blob (or a range of it). Throws BlobNotFoundError when absent. */
  get(digest: BlobDigest, range?: ByteRange): Promise<Readable>;
  /** Stream bytes in, verify them, commit them under their digest. */
  put(source: Readable, expect?: BlobExpectation): Promise<BlobInfo>;
  /** Remove a blob. Only the gc service calls this. Absent blobs are not an error. */
  delete(digest: BlobDigest): Promise<void>;
  /** Every blob, in no particular order. */
  list(): AsyncIterable<BlobListing>;

  /** Write a stream to the staging area under `key` (replacing what was there). */
  stage(key: string, source: Readable): Promise<StagedInfo>;
  /** Read staged data. Throws BlobNotFoundError when absent. */
  openStaged(key: string): Promise<Readable>;
  /** Remove staged data; absent is not an error. */
  removeStaged(key: string): Promise<void>;
  /** Staged keys with their age, for expiry. */
  listStaged(): AsyncIterable<{ key: string; size: number; modified: Date }>;

  /** A time-limited URL a client may GET the blob from, or null where the driver has none. */
  presignedGetUrl(digest: BlobDigest, expirySeconds: number): Promise<string | null>;
  /** Cheap round trip for readiness checks; throws when the store is unreachable. */
  ping(): Promise<void>;
}

export class BlobNotFoundError extends Error {
  constructor(readonly digest: string) {
    super(`blob unknown: ${digest}`);
    this.name = 'BlobNotFoundError';
  }
}

export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`digest mismatch: expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

export class SizeMismatchError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`size mismatch: expected ${expected} bytes, got ${actual}`);
    this.name = 'SizeMismatchError';
  }
}

/** Nest injection token for the process's BlobStore. */
export const BLOB_STORE = Symbol('BlobStore');
