import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { ContextIndex, ContextIndexFormatError } from './context-index';
import { ContextIndexer, type IndexOutcome } from './context-indexer';

type Entry = Partial<tar.Header> & { name: string; content?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => void chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const { content, ...header } of entries) {
    pack.entry({ mtime: new Date(1_700_000_000_000), ...header }, content ?? '');
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Feeds `data` to an indexer in chunks of `chunkSize` bytes, as an upload arrives. */
async function index(data: Buffer, options: { keep?: string[]; maxEntries?: number; chunkSize?: number } = {}): Promise<IndexOutcome> {
  const size = options.chunkSize ?? 1000;
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  const indexer = new ContextIndexer({ keep: options.keep ?? ['Dockerfile', '.dockerignore'], maxEntries: options.maxEntries });
  await pipeline(Readable.from(chunks), indexer);
  return indexer.outcome;
}

async function indexed(entries: Entry[], options?: Parameters<typeof index>[1]): Promise<ContextIndex> {
  const outcome = await index(await tarOf(entries), options);
  if (!outcome.index) throw new Error(`expected an index, got: ${outcome.reason}`);
  return outcome.index;
}

async function refused(entries: Entry[], options?: Parameters<typeof index>[1]): Promise<string> {
  const outcome = await index(await tarOf(entries), options);
  if (outcome.index) throw new Error('expected no index');
  return outcome.reason;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('ContextIndexer', () => {
  it('records every file with its mode, size and content digest, and keeps the Dockerfile whole', async () => {
    const idx = await indexed([
      { name: 'Dockerfile', content: 'FROM scratch\nCOPY . /\n', mode: 0o644 },
      { name: 'src/', type: 'directory', mode: 0o750 },
      { name: 'src/app.js', content: 'console.log(1)\n', mode: 0o755 },
      { name: 'src/link', type: 'symlink', linkname: 'app.js' },
    ]);
    expect(idx.get('src/app.js')).toEqual({ type: 'file', mode: 0o755, size: 15, digest: sha256('console.log(1)\n'), mtimeMs: 1_700_000_000_000 });
    expect(idx.get('src')).toMatchObject({ type: 'directory', mode: 0o750 });
    expect(idx.get('src/link')).toMatchObject({ type: 'symlink', mode: 0o777, linkTarget: 'app.js' });
    expect(idx.kept('Dockerfile')?.toString()).toBe('FROM scratch\nCOPY . /\n');
    expect(idx.kept('src/app.js')).toBeNull();
    expect(idx.list('')).toEqual(['Dockerfile', 'src']);
    expect(idx.list('src')).toEqual(['app.js', 'link']);
    expect(idx.list('src/app.js')).toBeNull();
  });

  it('creates missing parents as 0755 directories, and a later directory entry updates an earlier one, as extraction does', async () => {
    const idx = await indexed([
      { name: 'a/b/c.txt', content: 'c' },
      { name: 'a/', type: 'directory', mode: 0o700 },
      { name: 'a/', type: 'directory', mode: 0o711 },
    ]);
    expect(idx.get('a')).toMatchObject({ type: 'directory', mode: 0o711 });
    expect(idx.get('a/b')).toMatchObject({ type: 'directory', mode: 0o755 });
    expect(idx.list('a')).toEqual(['b']);
  });

  it('normalises names (./, leading /, ..) as extraction does, and lists names in byte order', async () => {
    const idx = await indexed([
      { name: './b.txt', content: 'b' },
      { name: '/a.txt', content: 'a' },
      { name: 'x/../B.txt', content: 'B' },
      { name: 'é.txt', content: 'e' },
      { name: 'z.txt', content: 'z' },
    ]);
    expect(idx.list('')).toEqual(['B.txt', 'a.txt', 'b.txt', 'z.txt', 'é.txt']);
  });

  it('reads a gzip-compressed context (docker build --compress)', async () => {
    const outcome = await index(gzipSync(await tarOf([{ name: 'Dockerfile', content: 'FROM scratch\n' }])), { chunkSize: 1 });
    expect(outcome.index?.kept('Dockerfile')?.toString()).toBe('FROM scratch\n');
  });

  it('makes no index for what only extraction may judge, saying why', async () => {
    expect(await refused([{ name: 'a', content: 'a' }, { name: 'b', type: 'link', linkname: 'a' }])).toMatch(/"b" is a link/);
    expect(await refused([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }])).toMatch(/character-device/);
    expect(await refused([{ name: 'a', content: '1' }, { name: 'a', content: '2' }])).toMatch(/"a" appears twice/);
    expect(await refused([{ name: 'l', type: 'symlink', linkname: 'dir' }, { name: 'l/f', content: 'x' }])).toMatch(/below the symlink "l"/);
    expect(await refused([{ name: 'd/l', type: 'symlink', linkname: '../../etc/passwd' }])).toMatch(/points outside the context/);
    expect(await refused([{ name: '../escape', content: 'x' }])).toMatch(/climbs out/);
    expect(await refused([{ name: 'a', content: 'a' }, { name: 'b', content: 'b' }], { maxEntries: 1 })).toMatch(/more than 1 entries/);
  });

  it('makes no index of a truncated or malformed tar, and never fails the upload it taps', async () => {
    const whole = await tarOf([{ name: 'Dockerfile', content: 'FROM scratch\n'.repeat(100) }]);
    expect((await index(whole.subarray(0, 700))).index).toBeNull();
    expect((await index(Buffer.from('this is not a tar archive at all, not even close'.repeat(20)))).index).toBeNull();
  });

  it('makes no index when the upload fails', async () => {
    const indexer = new ContextIndexer({ keep: [] });
    indexer.write(Buffer.alloc(10));
    indexer.destroy(new Error('client went away'));
    expect(await indexer.outcome).toEqual({ index: null, reason: 'the upload failed: client went away' });
  });

  it('round-trips through its stored form', async () => {
    const idx = await indexed([
      { name: 'Dockerfile', content: 'FROM scratch\n' },
      { name: 'bin/', type: 'directory', mode: 0o755 },
      { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
    ]);
    const back = ContextIndex.fromBuffer(idx.toBuffer());
    for (const path of ['Dockerfile', 'bin', 'bin/tool', 'bin/alias']) expect(back.get(path)).toEqual(idx.get(path));
    expect(back.kept('Dockerfile')).toEqual(idx.kept('Dockerfile'));
    expect(back.size).toBe(idx.size);
    expect(() => ContextIndex.fromBuffer(Buffer.from('{"format":99}'))).toThrow(ContextIndexFormatError);
    expect(() => ContextIndex.fromBuffer(Buffer.from('{"format":1,"rows":[["a","x",1,1,"",0]],"kept":{}}'))).toThrow(/bad row/);
    expect(() => ContextIndex.fromBuffer(Buffer.from('not json'))).toThrow(/not valid JSON/);
  });
});
