import { describe, expect, it } from 'vitest';
import { assertRange, assertStagingKey, blobPath, digestHex, verifyExpectation } from './blob-key.util';
import { DigestMismatchError, SizeMismatchError } from './blob-store';
import { InvalidDigestError, InvalidStagingKeyError, RangeNotSatisfiableError } from './blob-store.errors';

const hex = 'a'.repeat(64);
const digest = `sha256:${hex}` as const;

describe('blob keys', () => {
  it('maps a sha256 digest to its object path', () => {
    expect(digestHex(digest)).toBe(hex);
    expect(blobPath(digest)).toBe(`blobs/sha256/${hex}`);
  });

  it('refuses anything but sha256 with 64 lowercase hex', () => {
    for (const bad of [`sha512:${hex}`, `sha256:${'A'.repeat(64)}`, `sha256:${hex}0`, 'sha256:../x', hex, '']) {
      expect(() => digestHex(bad), bad).toThrow(InvalidDigestError);
    }
  });

  it('accepts single safe names as staging keys and refuses the rest', () => {
    for (const good of ['a', 'upload-1', 'ctx_2.tar', 'tmp-0b7c', 'build:sha256:abc', '9'.repeat(200)]) {
      expect(() => assertStagingKey(good), good).not.toThrow();
    }
    for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', '.x', '-x', 'a..b', 'sp ace', 'pct%2F', 'x'.repeat(201)]) {
      expect(() => assertStagingKey(bad), bad).toThrow(InvalidStagingKeyError);
    }
  });
});

describe('verifyExpectation', () => {
  const info = { digest, size: 3 };
  it('passes when nothing or the truth was promised', () => {
    expect(() => verifyExpectation(undefined, info)).not.toThrow();
    expect(() => verifyExpectation({ digest, size: 3 }, info)).not.toThrow();
  });
  it('names the mismatch, size first', () => {
    expect(() => verifyExpectation({ size: 4 }, info)).toThrow(SizeMismatchError);
    expect(() => verifyExpectation({ digest: `sha256:${'b'.repeat(64)}`, size: 4 }, info)).toThrow(SizeMismatchError);
    expect(() => verifyExpectation({ digest: `sha256:${'b'.repeat(64)}` }, info)).toThrow(DigestMismatchError);
  });
});

describe('assertRange', () => {
  it('accepts ranges that select at least one byte', () => {
    expect(() => assertRange(digest, { start: 0, end: 0 }, 1)).not.toThrow();
    expect(() => assertRange(digest, { start: 9 }, 10)).not.toThrow();
    expect(() => assertRange(digest, { start: 5, end: 100 }, 10)).not.toThrow();
    expect(() => assertRange(digest, { start: 0 }, 0)).not.toThrow(); // whole (empty) blob
  });
  it('refuses malformed ranges and ranges past the end', () => {
    expect(() => assertRange(digest, { start: 10 }, 10)).toThrow(RangeNotSatisfiableError);
    expect(() => assertRange(digest, { start: 0, end: 0 }, 0)).toThrow(RangeNotSatisfiableError);
    expect(() => assertRange(digest, { start: -1 })).toThrow(RangeNotSatisfiableError);
    expect(() => assertRange(digest, { start: 3, end: 2 })).toThrow(RangeNotSatisfiableError);
    expect(() => assertRange(digest, { start: 1.5 })).toThrow(RangeNotSatisfiableError);
  });
});
