import { describe, expect, it } from 'vitest';
import { fixedSizeParts } from './fixed-size-parts.util';

async function partsOf(chunkSizes: number[], partSize: number): Promise<Buffer[]> {
  let next = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const size of chunkSizes) {
      const chunk = Buffer.alloc(size);
      for (let i = 0; i < size; i++) chunk[i] = next++ % 251;
      yield chunk;
    }
  }
  const out: Buffer[] = [];
  for await (const part of fixedSizeParts(chunks(), partSize)) out.push(part);
  return out;
}

describe('fixedSizeParts', () => {
  it('yields nothing for an empty stream', async () => {
    expect(await partsOf([], 4)).toEqual([]);
    expect(await partsOf([0, 0], 4)).toEqual([]);
  });

  it('cuts parts of exactly partSize, the last one shorter, preserving every byte in order', async () => {
    const parts = await partsOf([3, 7, 1, 10], 4);
    expect(parts.map((p) => p.length)).toEqual([4, 4, 4, 4, 4, 1]);
    const bytes = Buffer.concat(parts);
    expect([...bytes]).toEqual(Array.from({ length: 21 }, (_, i) => i % 251));
  });

  it('handles the exact boundary and one byte past it', async () => {
    expect((await partsOf([8], 8)).map((p) => p.length)).toEqual([8]);
    expect((await partsOf([8, 1], 8)).map((p) => p.length)).toEqual([8, 1]);
    expect((await partsOf([5, 3], 8)).map((p) => p.length)).toEqual([8]);
  });

  it('splits one huge chunk into many parts', async () => {
    expect((await partsOf([25], 10)).map((p) => p.length)).toEqual([10, 10, 5]);
  });

  it('rejects a nonsensical part size', async () => {
    await expect(partsOf([1], 0)).rejects.toThrow(RangeError);
  });
});
