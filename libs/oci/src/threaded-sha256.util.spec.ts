import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ThreadedSha256 } from './threaded-sha256.util';

describe('ThreadedSha256', () => {
  it('gives the digest createHash gives, over many chunks and past its in-flight bound', async () => {
    const block = randomBytes(1024 * 1024);
    const reference = createHash('sha256');
    const threaded = new ThreadedSha256();
    for (let i = 0; i < 40; i++) {
      const chunk = Buffer.concat([block.subarray(i), Buffer.from([i])]);
      reference.update(chunk);
      await threaded.update(chunk);
    }
    expect(await threaded.digest()).toBe(reference.digest('hex'));
  });

  it('hashes nothing as the empty digest', async () => {
    expect(await new ThreadedSha256().digest()).toBe(createHash('sha256').digest('hex'));
  });

  it('copies each chunk: reusing the caller buffer afterwards does not change the result', async () => {
    const buffer = Buffer.from('first');
    const threaded = new ThreadedSha256();
    await threaded.update(buffer);
    buffer.write('xxxxx');
    expect(await threaded.digest()).toBe(createHash('sha256').update('first').digest('hex'));
  });
});
