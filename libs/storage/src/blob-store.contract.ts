// Behaviour every BlobStore driver must show; each driver's spec runs it against a fresh store.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobDigest, BlobStore } from './blob-store';
import { BlobNotFoundError, DigestMismatchError, SizeMismatchError } from './blob-store';
import { InvalidDigestError, InvalidStagingKeyError, RangeNotSatisfiableError } from './blob-store.errors';
import { S3_PART_SIZE } from './s3.driver';

export interface BlobStoreUnderTest {
  store: BlobStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 ** 2;
const BIG_TIMEOUT_MS = 120_000;

function sha256(data: Buffer): BlobDigest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A byte-at-a-time-ish stream of `data`, so drivers cannot rely on one big chunk. */
function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < data.length; offset += chunkSize) yield data.subarray(offset, offset + chunkSize);
    })(),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function digestOf(stream: Readable): Promise<{ digest: BlobDigest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * A deterministic stream of `size` bytes generated on the fly (never held whole): a random
 * 1 MiB block stamped with its index, so no two blocks repeat. Same seed block, same bytes.
 */
function generated(size: number, block: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0, index = 0; offset < size; offset += block.length, index++) {
        const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - offset)));
        if (chunk.length >= 4) chunk.writeUInt32BE(index, 0);
        yield chunk;
      }
    })(),
  );
}

function failingAfter(data: Buffer, error: Error): Readable {
  return Readable.from(
    (function* () {
      yield data;
      throw error;
    })(),
  );
}

export function describeBlobStoreContract(name: string, makeStore: () => Promise<BlobStoreUnderTest>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    async function expectAbsent(...digests: BlobDigest[]): Promise<void> {
      const listed = (await collect(store.list())).map((b) => b.digest);
      for (const digest of digests) {
        expect(await store.stat(digest)).toBeNull();
        expect(listed).not.toContain(digest);
      }
    }

    async function expectNoLeftovers(): Promise<void> {
      expect(await collect(store.listStaged())).toEqual([]);
    }

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('round-trips put, stat and get', async () => {
      const data = randomBytes(100_000);
      const digest = sha256(data);
      await expect(store.put(streamOf(data), { digest, size: data.length })).resolves.toEqual({ digest, size: data.length });
      expect(await store.stat(digest)).toEqual({ digest, size: data.length });
      expect((await readAll(await store.get(digest))).equals(data)).toBe(true);
    });

    it('computes the digest when the writer promises nothing', async () => {
      const data = Buffer.from('hello, cargohold\n');
      const info = await store.put(streamOf(data));
      expect(info).toEqual({ digest: sha256(data), size: data.length });
      expect((await readAll(await store.get(info.digest))).toString()).toBe('hello, cargohold\n');
    });

    it('stores an empty blob', async () => {
      const info = await store.put(Readable.from([]));
      expect(info).toEqual({ digest: sha256(Buffer.alloc(0)), size: 0 });
      expect((await readAll(await store.get(info.digest))).length).toBe(0);
    });

    it('refuses a body whose digest differs from the promise, and keeps nothing', async () => {
      const data = randomBytes(4096);
      const claimed = sha256(randomBytes(16));
      const error = await store.put(streamOf(data), { digest: claimed }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DigestMismatchError);
      expect(error).toMatchObject({ expected: claimed, actual: sha256(data) });
      await expectAbsent(claimed, sha256(data));
      await expectNoLeftovers();
    });

    it('refuses a body shorter or longer than promised, and keeps nothing', async () => {
      const data = randomBytes(4096);
      const digest = sha256(data);
      await expect(store.put(streamOf(data), { digest, size: data.length + 1 })).rejects.toBeInstanceOf(SizeMismatchError);
      await expect(store.put(streamOf(data), { size: data.length - 1 })).rejects.toBeInstanceOf(SizeMismatchError);
      await expectAbsent(digest);
      await expectNoLeftovers();
    });

    it('fails a put whose source stream fails, and keeps nothing', async () => {
      const data = randomBytes(8192);
      await expect(store.put(failingAfter(data, new Error('connection reset by peer')))).rejects.toThrow('connection reset by peer');
      await expectAbsent(sha256(data));
      await expectNoLeftovers();
    });

    it('rejects a malformed expected digest before reading', async () => {
      await expect(store.put(streamOf(Buffer.from('x')), { digest: 'sha256:nothex' })).rejects.toBeInstanceOf(InvalidDigestError);
      await expect(store.stat('sha256:../../etc/passwd')).rejects.toBeInstanceOf(InvalidDigestError);
      await expect(store.get('sha256:ABC' as BlobDigest)).rejects.toBeInstanceOf(InvalidDigestError);
    });

    it('serves byte ranges (inclusive, clamped at the end)', async () => {
      const data = Buffer.from('0123456789abcdef');
      const { digest } = await store.put(streamOf(data));
      const read = async (start: number, end?: number) => (await readAll(await store.get(digest, { start, end }))).toString();
      expect(await read(2, 5)).toBe('2345');
      expect(await read(10)).toBe('abcdef');
      expect(await read(0, 0)).toBe('0');
      expect(await read(0)).toBe('0123456789abcdef');
      expect(await read(15, 15)).toBe('f');
      expect(await read(12, 1000)).toBe('cdef');
    });

    it('refuses a range that selects no byte', async () => {
      const { digest } = await store.put(streamOf(Buffer.from('0123456789')));
      const error = await store.get(digest, { start: 10 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeNotSatisfiableError);
      expect(error).toMatchObject({ size: 10 });
      await expect(store.get(digest, { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    });

    it('reports a missing blob', async () => {
      const digest = sha256(randomBytes(32));
      expect(await store.stat(digest)).toBeNull();
      await expect(store.get(digest)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.get(digest, { start: 1, end: 2 })).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('deletes idempotently', async () => {
      const { digest } = await store.put(streamOf(randomBytes(1000)));
      await store.delete(digest);
      await store.delete(digest);
      await store.delete(sha256(randomBytes(8)));
      expect(await store.stat(digest)).toBeNull();
      await expect(store.get(digest)).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('lists every blob with size and modification time', async () => {
      const before = Date.now();
      const blobs = await Promise.all([10, 20, 30].map((n) => store.put(streamOf(randomBytes(n)))));
      const listed = await collect(store.list());
      expect(listed.map(({ digest, size }) => ({ digest, size })).sort((a, b) => a.size - b.size)).toEqual(blobs);
      for (const entry of listed) {
        expect(entry.modified).toBeInstanceOf(Date);
        // Second-granular stores (S3) may round down.
        expect(entry.modified.getTime()).toBeGreaterThanOrEqual(before - 2000);
      }
      await store.delete(blobs[1].digest);
      expect((await collect(store.list())).map((b) => b.digest).sort()).toEqual([blobs[0].digest, blobs[2].digest].sort());
    });

    it('stages, reads, replaces, lists and removes staged data', async () => {
      const first = Buffer.from('first version');
      const second = randomBytes(50_000);
      expect(await store.stage('upload-1', streamOf(first))).toEqual({ key: 'upload-1', size: first.length });
      expect((await readAll(await store.openStaged('upload-1'))).equals(first)).toBe(true);
      expect(await store.stage('upload-1', streamOf(second))).toEqual({ key: 'upload-1', size: second.length });
      expect((await readAll(await store.openStaged('upload-1'))).equals(second)).toBe(true);
      await store.stage('context_2.tar', streamOf(first));

      const staged = await collect(store.listStaged());
      expect(staged.map(({ key, size }) => ({ key, size })).sort((a, b) => a.key.localeCompare(b.key))).toEqual([
        { key: 'context_2.tar', size: first.length },
        { key: 'upload-1', size: second.length },
      ]);
      for (const entry of staged) expect(entry.modified).toBeInstanceOf(Date);
      // Staged data is not a blob.
      expect(await collect(store.list())).toEqual([]);

      await store.removeStaged('upload-1');
      await store.removeStaged('upload-1');
      await expect(store.openStaged('upload-1')).rejects.toBeInstanceOf(BlobNotFoundError);
      expect((await collect(store.listStaged())).map((s) => s.key)).toEqual(['context_2.tar']);
    });

    it('refuses staging keys that are not a single safe name', async () => {
      for (const key of ['../escape', 'a/b', '..', '.', '', '.hidden', 'a..b', 'back\\slash', 'x'.repeat(201), 'nul\0']) {
        await expect(store.stage(key, streamOf(Buffer.from('x'))), key).rejects.toBeInstanceOf(InvalidStagingKeyError);
        await expect(store.openStaged(key), key).rejects.toBeInstanceOf(InvalidStagingKeyError);
        await expect(store.removeStaged(key), key).rejects.toBeInstanceOf(InvalidStagingKeyError);
      }
      await expect(store.stage('../escape', streamOf(Buffer.from('x')))).rejects.toThrow(/invalid staging key "\.\.\/escape"/);
      expect(await collect(store.listStaged())).toEqual([]);
    });

    it('accepts ten concurrent puts of the same content and keeps one blob', async () => {
      const data = randomBytes(300_000);
      const digest = sha256(data);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.put(streamOf(data, 10_000 + i * 1000), i % 2 ? { digest, size: data.length } : undefined)),
      );
      for (const result of results) expect(result).toEqual({ digest, size: data.length });
      expect((await collect(store.list())).map((b) => b.digest)).toEqual([digest]);
      expect((await readAll(await store.get(digest))).equals(data)).toBe(true);
      await expectNoLeftovers();
    });

    it(
      'streams a 64 MiB put from a generated stream, with and without the digest known up front',
      async () => {
        const size = 64 * MiB;
        const block = randomBytes(MiB);
        const expected = await digestOf(generated(size, block));

        expect(await store.put(generated(size, block))).toEqual(expected);
        expect(await digestOf(await store.get(expected.digest))).toEqual(expected);

        await store.delete(expected.digest);
        expect(await store.put(generated(size, block), expected)).toEqual(expected);
        expect(await digestOf(await store.get(expected.digest))).toEqual(expected);
        expect((await readAll(await store.get(expected.digest, { start: 40 * MiB - 3, end: 40 * MiB + 4 }))).length).toBe(8);
        await expectNoLeftovers();
      },
      BIG_TIMEOUT_MS,
    );

    it(
      'keeps memory flat while storing a 256 MiB stream',
      async () => {
        const size = 256 * MiB;
        const baseline = process.memoryUsage().arrayBuffers;
        let peak = 0;
        const sampler = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        }, 10);
        try {
          const info = await store.put(generated(size, randomBytes(MiB)));
          expect(info.size).toBe(size);
        } finally {
          clearInterval(sampler);
        }
        // Buffering the body whole would need >= 256 MiB; parts in flight plus not yet
        // collected garbage stay well below (measured: ~40 MiB filesystem, ~100 MiB S3).
        expect(peak).toBeLessThan(192 * MiB);
      },
      BIG_TIMEOUT_MS,
    );

    for (const [label, size] of [
      ['exactly one part', S3_PART_SIZE],
      ['one part and one byte', S3_PART_SIZE + 1],
      ['two parts', 2 * S3_PART_SIZE],
    ] as const) {
      it(
        `round-trips a body of ${label} (${size} bytes)`,
        async () => {
          const block = randomBytes(MiB);
          const expected = await digestOf(generated(size, block));
          expect(await store.put(generated(size, block))).toEqual(expected);
          expect(await digestOf(await store.get(expected.digest))).toEqual(expected);
          expect(await store.stat(expected.digest)).toEqual(expected);
          const tail = await readAll(await store.get(expected.digest, { start: size - 2 }));
          expect(tail.length).toBe(2);

          await store.delete(expected.digest);
          expect(await store.put(generated(size, block), expected)).toEqual(expected);
          expect(await store.stat(expected.digest)).toEqual(expected);
          await expectNoLeftovers();
        },
        BIG_TIMEOUT_MS,
      );
    }

    it(
      'discards a multi-part body with the wrong digest or size, keeping nothing',
      async () => {
        const size = S3_PART_SIZE + 1;
        const block = randomBytes(MiB);
        const actual = await digestOf(generated(size, block));
        const claimed = sha256(randomBytes(8));
        await expect(store.put(generated(size, block), { digest: claimed })).rejects.toBeInstanceOf(DigestMismatchError);
        await expect(store.put(generated(size, block), { digest: actual.digest, size: size - 1 })).rejects.toBeInstanceOf(SizeMismatchError);
        await expect(store.put(generated(size, block), { size: size + 1 })).rejects.toBeInstanceOf(SizeMismatchError);
        await expectAbsent(claimed, actual.digest);
        await expectNoLeftovers();
      },
      BIG_TIMEOUT_MS,
    );

    it('stages a multi-part body', { timeout: BIG_TIMEOUT_MS }, async () => {
      const size = S3_PART_SIZE + 1;
      const block = randomBytes(MiB);
      const expected = await digestOf(generated(size, block));
      expect(await store.stage('big-context', generated(size, block))).toEqual({ key: 'big-context', size });
      expect(await digestOf(await store.openStaged('big-context'))).toEqual(expected);
    });

    it('gives a presigned URL that serves the blob, or null where the driver has none', async () => {
      const data = randomBytes(2048);
      const { digest } = await store.put(streamOf(data));
      const url = await store.presignedGetUrl(digest, 60);
      if (store.driver === 'filesystem') {
        expect(url).toBeNull();
      } else {
        if (url === null) throw new Error(`the ${store.driver} driver gave no presigned URL`);
        expect(url).toMatch(/^https?:\/\//);
        const response = await fetch(url);
        expect(response.status).toBe(200);
        expect(Buffer.from(await response.arrayBuffer()).equals(data)).toBe(true);
      }
    });
  });
}
