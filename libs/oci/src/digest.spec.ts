import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDigester, DIGEST_RE, InvalidDigestError, isDigest, isSha256Digest, parseDigest, sha256Of } from './digest';
import { streamOf } from './testing/tar-fixtures';

const HEX = 'a'.repeat(64);

describe('parseDigest', () => {
  it('splits a valid digest', () => {
    expect(parseDigest(`sha256:${HEX}`)).toEqual({ algorithm: 'sha256', encoded: HEX, digest: `sha256:${HEX}` });
    expect(parseDigest(`sha512:${'b'.repeat(128)}`).algorithm).toBe('sha512');
  });

  it.each([
    ['', 'invalid checksum digest format'],
    ['sha256', 'invalid checksum digest format'],
    [':abc', 'invalid checksum digest format'],
    ['sha256:', 'invalid checksum digest format'],
    [`SHA256:${HEX}`, 'invalid checksum digest format'],
    [`md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    [`sha256+b64u:${HEX}`, 'unsupported digest algorithm'],
    [`sha256:${'a'.repeat(63)}`, 'invalid checksum digest length'],
    [`sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
    [`sha256:${'g'.repeat(64)}`, 'invalid checksum digest format'],
  ])('refuses %j with %j', (input, message) => {
    expect(() => parseDigest(input)).toThrow(InvalidDigestError);
    expect(() => parseDigest(input)).toThrow(message);
  });

  it('isDigest and isSha256Digest agree with parseDigest', () => {
    expect(isDigest(`sha256:${HEX}`)).toBe(true);
    expect(isDigest(`md5:${'a'.repeat(32)}`)).toBe(false);
    expect(DIGEST_RE.test(`md5:${'a'.repeat(32)}`)).toBe(true);
    expect(isSha256Digest(`sha256:${HEX}`)).toBe(true);
    expect(isSha256Digest(`sha512:${'b'.repeat(128)}`)).toBe(false);
  });
});

describe('sha256Of', () => {
  it('hashes buffers and strings', () => {
    expect(sha256Of(Buffer.from(''))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Of('abc')).toBe(`sha256:${createHash('sha256').update('abc').digest('hex')}`);
  });
});

describe('createDigester', () => {
  it('passes bytes through while hashing and counting them', async () => {
    const data = Buffer.alloc(300_000, 7);
    const digester = createDigester();
    const out: Buffer[] = [];
    await pipeline(
      streamOf(data, 4096),
      digester,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(digester.size).toBe(data.length);
    expect(digester.digest()).toBe(sha256Of(data));
  });

  it('refuses to answer before the stream ends', () => {
    expect(() => createDigester().digest()).toThrow(/before the stream finished/);
  });
});
