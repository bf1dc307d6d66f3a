import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ArchiveError, UnsafeArchiveError } from './archive-errors';
import { createLayerInspector, inspectLayer } from './layer-inspector';
import type { LayerInspectorLimits } from './layer-inspector';
import { buildTar, gzip, sha256, streamOf } from './testing/tar-fixtures';
import type { FixtureEntry } from './testing/tar-fixtures';

async function refusal(layer: Buffer, limits?: LayerInspectorLimits): Promise<Error> {
  try {
    await inspectLayer(streamOf(layer, 999), limits);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the layer to be refused');
}

async function unsafe(entries: FixtureEntry[], pattern: RegExp): Promise<void> {
  const err = await refusal(await buildTar(entries));
  expect(err).toBeInstanceOf(UnsafeArchiveError);
  expect(err.message).toMatch(pattern);
}

const rootfs: FixtureEntry[] = [
  { name: 'bin/', type: 'directory' },
  { name: 'bin/busybox', content: 'x'.repeat(1000) },
  { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  { name: 'bin/ash', type: 'link', linkname: 'bin/busybox' },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
  { name: 'etc/localtime', type: 'symlink', linkname: '../usr/share/zoneinfo/UTC' },
  { name: 'tmp/fifo', type: 'fifo' },
  { name: 'var/.wh.cache', content: '' },
  { name: './opt/./app/../app/run', content: 'abc' },
];

describe('inspectLayer', () => {
  it('measures a plain tar layer', async () => {
    const layer = await buildTar(rootfs);
    const result = await inspectLayer(streamOf(layer, 100));
    expect(result).toEqual({
      compressed: false,
      diffId: sha256(layer),
      tarSize: layer.length,
      contentSize: 1000 + 26 + 3,
      entries: rootfs.length,
    });
  });

  it('measures a gzip layer: the diffID is the uncompressed tar', async () => {
    const layer = await buildTar(rootfs);
    const result = await inspectLayer(streamOf(gzip(layer), 3));
    expect(result.compressed).toBe(true);
    expect(result.diffId).toBe(sha256(layer));
    expect(result.tarSize).toBe(layer.length);
  });

  it('accepts the empty layer and an empty blob', async () => {
    const empty = Buffer.alloc(1024);
    expect(await inspectLayer(streamOf(empty))).toMatchObject({ entries: 0, tarSize: 1024, diffId: sha256(empty) });
    expect(await inspectLayer(streamOf(Buffer.alloc(0)))).toMatchObject({ entries: 0, tarSize: 0 });
  });

  it('lets a symlink point anywhere and a path climb back inside', async () => {
    const layer = await buildTar([
      { name: 'link', type: 'symlink', linkname: '../../../../etc/shadow' },
      { name: 'a/../b', content: 'ok' },
    ]);
    expect((await inspectLayer(streamOf(layer))).entries).toBe(2);
  });

  it('lets a later directory replace an earlier symlink', async () => {
    const layer = await buildTar([
      { name: 'd', type: 'symlink', linkname: '/etc' },
      { name: 'd', type: 'directory' },
      { name: 'd/file', content: 'ok' },
    ]);
    expect((await inspectLayer(streamOf(layer))).entries).toBe(3);
  });

  it('refuses absolute and escaping paths', async () => {
    await unsafe([{ name: '/etc/passwd', content: 'x' }], /"\/etc\/passwd" is an absolute path/);
    await unsafe([{ name: '../escape', content: 'x' }], /"\.\.\/escape" climbs out of the root/);
    await unsafe([{ name: 'a/../../x', content: 'x' }], /"a\/\.\.\/\.\.\/x"/);
  });

  it('refuses entries written through a symlink of the same layer', async () => {
    await unsafe(
      [
        { name: 'evil', type: 'symlink', linkname: '/etc' },
        { name: 'evil/passwd', content: 'x' },
      ],
      /"evil\/passwd" runs through "evil", a symlink/,
    );
    await unsafe(
      [
        { name: 'a/b', type: 'symlink', linkname: '../../..' },
        { name: 'a/b/c/d', type: 'directory' },
      ],
      /"a\/b\/c\/d\/?" runs through "a\/b"/,
    );
  });

  it('refuses hardlinks that escape or do not point back', async () => {
    await unsafe([{ name: 'x', type: 'link', linkname: '../../etc/shadow' }], /hardlink "x" points at "..\/..\/etc\/shadow", outside the layer/);
    await unsafe([{ name: 'x', type: 'link', linkname: '/etc/shadow' }], /hardlink "x" points at "\/etc\/shadow", outside/);
    await unsafe(
      [
        { name: 'x', type: 'link', linkname: 'later' },
        { name: 'later', content: 'x' },
      ],
      /hardlink "x" points at "later", which is not a file earlier in the layer/,
    );
    await unsafe(
      [
        { name: 'dir', type: 'directory' },
        { name: 'x', type: 'link', linkname: 'dir' },
      ],
      /hardlink "x" points at "dir", which is not a file/,
    );
    await unsafe(
      [
        { name: 'etc', type: 'symlink', linkname: '/etc' },
        { name: 'x', type: 'link', linkname: 'etc/shadow' },
      ],
      /hardlink "x" \(to "etc\/shadow"\) runs through "etc", a symlink/,
    );
  });

  it('refuses device nodes', async () => {
    await unsafe([{ name: 'dev/mem', type: 'character-device' }], /"dev\/mem" is a character-device; device nodes are refused/);
    await unsafe([{ name: 'dev/sda', type: 'block-device' }], /"dev\/sda" is a block-device/);
  });

  it('refuses too many entries and too many bytes', async () => {
    const layer = await buildTar([1, 2, 3, 4].map((i) => ({ name: `f${i}`, content: 'x' })));
    const many = await refusal(layer, { maxEntries: 3 });
    expect(many).toBeInstanceOf(UnsafeArchiveError);
    expect(many.message).toBe('layer has more than 3 entries (at "f4")');
    const big = await refusal(layer, { maxBytes: 1024 });
    expect(big).toBeInstanceOf(UnsafeArchiveError);
    expect(big.message).toMatch(/layer is larger than the limit of 1024 bytes uncompressed/);
  });

  it('stops a gzip bomb of zeros', async () => {
    const zeros = await buildTar([{ name: 'zeros', content: Buffer.alloc(8 * 1024 * 1024) }]);
    const bomb = gzip(zeros);
    expect(bomb.length).toBeLessThan(zeros.length / 500);
    const bySize = await refusal(bomb, { maxBytes: 1024 * 1024 });
    expect(bySize).toBeInstanceOf(UnsafeArchiveError);
    expect(bySize.message).toMatch(/larger than the limit of 1048576 bytes uncompressed \(at "zeros"\)/);
    const byRatio = await refusal(bomb, { maxRatio: 100, ratioThreshold: 1024 * 1024 });
    expect(byRatio).toBeInstanceOf(UnsafeArchiveError);
    expect(byRatio.message).toMatch(/layer expands more than 100x .* at "zeros"\); refusing a decompression bomb/);
    // Below the threshold the same data is an ordinary (if odd) layer.
    expect((await inspectLayer(streamOf(bomb))).tarSize).toBe(zeros.length);
  });

  it('refuses zstd with a clear message', async () => {
    const err = await refusal(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.message).toBe('layer is zstd-compressed, which is not supported yet; send it uncompressed or gzip-compressed');
  });

  it('refuses garbage, truncated tars and truncated gzip', async () => {
    const garbage = await refusal(Buffer.alloc(2048, 'garbage!'));
    expect(garbage).toBeInstanceOf(ArchiveError);
    expect(garbage.message).toBe('layer is not a tar archive (plain or gzip-compressed): archive/tar: invalid tar header');

    const layer = await buildTar([{ name: 'big', content: Buffer.alloc(5000, 1) }, { name: 'next', content: 'x' }]);
    const truncated = await refusal(layer.subarray(0, 3000));
    expect(truncated.message).toMatch(/^layer is truncated: .* after entry "big"/);

    const gz = gzip(layer);
    const cut = await refusal(gz.subarray(0, gz.length - 10));
    expect(cut.message).toBe('layer is not valid gzip data: unexpected end of file');
  });
});

describe('createLayerInspector', () => {
  it('inspects bytes a caller is also sending elsewhere', async () => {
    const layer = gzip(await buildTar(rootfs));
    const { sink, result } = createLayerInspector();
    const copy: Buffer[] = [];
    const source = streamOf(layer, 512);
    source.on('data', (chunk: Buffer) => {
      copy.push(chunk);
      if (!sink.write(chunk)) source.pause();
    });
    sink.on('drain', () => source.resume());
    source.on('end', () => sink.end());
    const inspection = await result;
    expect(Buffer.concat(copy).equals(layer)).toBe(true);
    expect(inspection.compressed).toBe(true);
    expect(inspection.entries).toBe(rootfs.length);
  });

  it('keeps draining after a refusal so a tee never stalls', async () => {
    const hostile = await buildTar([
      { name: 'dev/mem', type: 'character-device' },
      { name: 'filler', content: Buffer.alloc(2 * 1024 * 1024, 1) },
    ]);
    const { sink, result } = createLayerInspector();
    await pipeline(streamOf(hostile, 1024), sink);
    await expect(result).rejects.toThrow(UnsafeArchiveError);
  });

  it('reports a layer cut short by its source', async () => {
    const { sink, result } = createLayerInspector();
    const sinkError = new Promise((resolve) => sink.on('error', resolve));
    sink.write(Buffer.alloc(10));
    sink.destroy(new Error('upstream broke'));
    await expect(result).rejects.toThrow('upstream broke');
    expect(await sinkError).toBeInstanceOf(Error);
  });

  it('stops reading a refused layer', async () => {
    const head = await buildTar([{ name: '/abs', content: 'x' }]);
    let produced = 0;
    const endless = Readable.from(
      (function* () {
        yield head.subarray(0, 1024);
        for (;;) {
          produced += 1;
          yield Buffer.alloc(65536);
        }
      })(),
      { objectMode: false },
    );
    await expect(inspectLayer(endless)).rejects.toThrow(/"\/abs" is an absolute path/);
    expect(endless.destroyed).toBe(true);
    expect(produced).toBeLessThan(100);
  });
});
