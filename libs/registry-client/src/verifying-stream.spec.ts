import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { RegistryError } from './registry-errors';
import { verifyingStream } from './verifying-stream';

const data = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(1000));
const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function run(bytes: Buffer, expectedDigest: string, size: number): Promise<Buffer> {
  const out: Buffer[] = [];
  const chunks = Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, i) => bytes.subarray(i * 1000, (i + 1) * 1000));
  await pipeline(
    Readable.from(chunks),
    verifyingStream(expectedDigest, size),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('verifyingStream', () => {
  it('passes correct content through unchanged', async () => {
    expect((await run(data, digest, data.length)).equals(data)).toBe(true);
  });

  it('fails with a digest mismatch when one byte differs', async () => {
    const tampered = Buffer.from(data);
    tampered[10] ^= 0xff;
    const failure = run(tampered, digest, data.length);
    await expect(failure).rejects.toBeInstanceOf(RegistryError);
    await expect(failure).rejects.toThrow(/^digest mismatch: expected sha256:[0-9a-f]{64}, the content hashes to sha256:/);
  });

  it('fails on truncated or overlong content', async () => {
    await expect(run(data.subarray(0, 100), digest, data.length)).rejects.toThrow(/size mismatch .* expected 44000 bytes, received 100/);
    await expect(run(Buffer.concat([data, Buffer.from('x')]), digest, data.length)).rejects.toThrow(/received more/);
  });

  it('refuses a malformed digest up front', () => {
    expect(() => verifyingStream('sha256:abc', 1)).toThrow();
  });
});
