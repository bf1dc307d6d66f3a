import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, lutimesSync, mkdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { applyLayer } from './apply-layer';
import type { Change } from './changes';
import { RootfsError } from './errors';
import { diff, snapshot } from './snapshot';
import { BufferSink, NET_RAW_CAPABILITY, TempDirs, buildBusyboxTree, capabilityOf, describeTree, fastTempBase, sha256 } from './testing/tree-fixtures';
import { writeLayer } from './write-layer';
import type { WriteLayerOptions } from './write-layer';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

async function layerOf(root: string, changes: Change[], options?: WriteLayerOptions): Promise<{ bytes: Buffer; diffId: string; size: number }> {
  const sink = new BufferSink();
  const result = await writeLayer(root, changes, sink, options);
  return { bytes: sink.bytes, ...result };
}

function saved(bytes: Buffer): string {
  const file = `${temp.make('layer-file')}/layer.tar`;
  writeFileSync(file, bytes);
  return file;
}

/** `tar -tv` as GNU tar prints it (numeric owners, names unquoted). */
function gnuListing(bytes: Buffer): string[] {
  return execFileSync('tar', ['--numeric-owner', '--quoting-style=literal', '-tvf', saved(bytes)], { encoding: 'utf8' }).trim().split('\n');
}

/** Type flags of the raw header blocks, extended headers included. */
function typeflags(bytes: Buffer): string[] {
  const flags: string[] = [];
  let offset = 0;
  while (offset + 512 <= bytes.length && bytes.subarray(offset, offset + 512).some((byte) => byte !== 0)) {
    const block = bytes.subarray(offset, offset + 512);
    expect(block.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    flags.push(String.fromCharCode(block[156]));
    const size = parseInt(block.subarray(124, 136).toString('latin1').replace(/\0.*$/, ''), 8) || 0;
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  expect(bytes.length - offset).toBe(1024); // two zero blocks and nothing after
  return flags;
}

async function headersOf(bytes: Buffer): Promise<tar.Header[]> {
  const extract = tar.extract();
  const headers: tar.Header[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      headers.push(entry.header);
      entry.resume();
    }
  })();
  extract.end(bytes);
  await reading;
  return headers;
}

describe('writeLayer on a busybox root filesystem', () => {
  const source = temp.make('busybox');
  let changes: Change[];
  let layer: { bytes: Buffer; diffId: string; size: number };

  it('writes the same bytes twice, and its diff ID is their sha256', async () => {
    const before = await snapshot(source);
    buildBusyboxTree(source);
    changes = await diff(source, before);
    expect(changes.length).toBeGreaterThan(250);
    expect(changes.every((change) => change.kind === 'add')).toBe(true);
    layer = await layerOf(source, changes);
    const again = await layerOf(source, changes);
    expect(again.bytes.equals(layer.bytes)).toBe(true);
    expect(layer.diffId).toBe(sha256(layer.bytes));
    expect(again.diffId).toBe(layer.diffId);
    expect(layer.size).toBe(layer.bytes.length);
  });

  it('lists sensibly with GNU tar, sorted, parents first, PAX headers only where needed', async () => {
    const listing = gnuListing(layer.bytes);
    const names = (await headersOf(layer.bytes)).map((header) => header.name);
    expect(listing).toHaveLength(changes.length);
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a.replace(/\/$/, '')), Buffer.from(b.replace(/\/$/, '')))));
    const line = (suffix: string): string | undefined => listing.find((entry) => entry.endsWith(` ${suffix}`));
    expect(line('bin/')).toMatch(/^drwxr-xr-x 0\/0 +0 \S+ \S+ bin\/$/);
    expect(line('bin/busybox')).toMatch(/^-rwxr-xr-x 0\/0 +1982256 /);
    expect(line('bin/sh -> /bin/busybox')).toMatch(/^lrwxrwxrwx 0\/0 +0 /);
    expect(line('usr/bin/passwd')).toMatch(/^-rwsr-xr-x 0\/0 +6 /);
    expect(line('usr/bin/hard-b link to usr/bin/hard-a')).toMatch(/^hrw-r--r-- 0\/0 +0 /);
    expect(line('run/initctl')).toMatch(/^prw-r----- 0\/0 +0 /);
    expect(line('tmp/')).toMatch(/^drwxrwxrwt 0\/0 /);
    expect(line('root/')).toMatch(/^drwx------ 0\/0 /);
    expect(line('home/user/notes.txt')).toMatch(/^-rw-r--r-- 1000\/1000 +4 /);
    expect(line('usr/share/café-Ω.txt')).toBeDefined();
    expect(listing.some((entry) => entry.endsWith('very-long-directory-name/file-with-a-long-name.txt'))).toBe(true);
    // Extended headers: names over 100 bytes (the deep directories and file), the non-ASCII name
    // and ping's capability, nothing else.
    const needPax = names.filter((name) => Buffer.byteLength(name) !== name.length || name.length > 100);
    expect(needPax).toHaveLength(4);
    expect(typeflags(layer.bytes).filter((flag) => flag === 'x')).toHaveLength(needPax.length + 1);
    expect(listing.join('\n')).not.toMatch(/PaxHeaders/);
  });

  it('is applied back by applyLayer into the same tree', async () => {
    const target = temp.make('busybox-applied');
    const result = await applyLayer(Readable.from([layer.bytes]), target);
    expect(result.entries).toBe(changes.length);
    expect(describeTree(target)).toEqual(describeTree(source));
    expect(capabilityOf(`${target}/usr/bin/ping`)).toBe(NET_RAW_CAPABILITY.toString('hex'));
  });

  it('is extracted by GNU tar into the same tree', () => {
    const target = temp.make('busybox-gnu');
    execFileSync('tar', ['--numeric-owner', '--same-permissions', '--xattrs', '--xattrs-include=*', '-xf', saved(layer.bytes), '-C', target]);
    expect(describeTree(target)).toEqual(describeTree(source));
    expect(capabilityOf(`${target}/usr/bin/ping`)).toBe(NET_RAW_CAPABILITY.toString('hex'));
  });

  it.each(['posix', 'gnu'])('applies what GNU tar writes in %s format into the same tree', async (format) => {
    const target = temp.make(`busybox-from-${format}`);
    const bytes = execFileSync('tar', [`--format=${format}`, '--numeric-owner', '--xattrs', '--xattrs-include=*', '-cf', '-', '-C', source, '.'], { maxBuffer: 64 * 1024 * 1024 });
    await applyLayer(Readable.from([bytes]), target);
    expect(describeTree(target)).toEqual(describeTree(source));
  });
});

describe('writeLayer determinism with sourceDateEpoch', () => {
  function smallTree(root: string, mtime: number): void {
    mkdirSync(`${root}/etc/conf.d`, { recursive: true });
    writeFileSync(`${root}/etc/conf.d/a.conf`, 'a=1\n');
    writeFileSync(`${root}/etc/hostname`, 'builder\n');
    symlinkSync('conf.d/a.conf', `${root}/etc/a.conf`);
    linkSync(`${root}/etc/hostname`, `${root}/etc/hostname.bak`);
    for (const path of ['etc/conf.d/a.conf', 'etc/hostname', 'etc/conf.d', 'etc']) utimesSync(`${root}/${path}`, mtime, mtime);
    lutimesSync(`${root}/etc/a.conf`, mtime, mtime);
  }

  it('gives the same digest for trees whose mtimes differ, all clamped', async () => {
    const [first, second] = [temp.make('epoch-a'), temp.make('epoch-b')];
    const [beforeFirst, beforeSecond] = [await snapshot(first), await snapshot(second)];
    smallTree(first, 1_700_000_000);
    smallTree(second, 1_750_000_000);
    const [changesFirst, changesSecond] = [await diff(first, beforeFirst), await diff(second, beforeSecond)];
    expect(changesSecond).toEqual(changesFirst);

    const plain = [await layerOf(first, changesFirst), await layerOf(second, changesSecond)];
    expect(plain[0].diffId).not.toBe(plain[1].diffId);

    const epoch = 1_600_000_000;
    const clamped = [await layerOf(first, changesFirst, { sourceDateEpoch: epoch }), await layerOf(second, changesSecond, { sourceDateEpoch: epoch })];
    expect(clamped[0].diffId).toBe(clamped[1].diffId);
    expect(clamped[0].bytes.equals(clamped[1].bytes)).toBe(true);
    const headers = await headersOf(clamped[0].bytes);
    expect(headers.map((header) => header.mtime.getTime() / 1000)).toEqual(headers.map(() => epoch));

    // An epoch later than every mtime changes nothing.
    expect((await layerOf(first, changesFirst, { sourceDateEpoch: 1_800_000_000 })).diffId).toBe(plain[0].diffId);
  });

  it('refuses an epoch that is not a whole number of seconds', async () => {
    const root = temp.make('epoch-bad');
    const sink = new BufferSink();
    await expect(writeLayer(root, [], sink, { sourceDateEpoch: 1.5 })).rejects.toThrow('sourceDateEpoch must be a whole number of seconds since the epoch, not 1.5');
  });
});

describe('writeLayer whiteouts round trip', () => {
  it('deletes files and directories and replaces a directory with an opaque one', async () => {
    const base = temp.make('wh-base');
    const before = await snapshot(base);
    mkdirSync(`${base}/etc/apt/sources.list.d`, { recursive: true });
    writeFileSync(`${base}/etc/apt/sources.list`, 'deb x');
    writeFileSync(`${base}/etc/apt/sources.list.d/extra.list`, 'deb y');
    mkdirSync(`${base}/var/cache/apt/archives`, { recursive: true });
    writeFileSync(`${base}/var/cache/apt/archives/pkg.deb`, 'deb');
    mkdirSync(`${base}/opt/app/lib`, { recursive: true });
    writeFileSync(`${base}/opt/app/lib/old.so`, 'old');
    writeFileSync(`${base}/opt/app/VERSION`, '1');
    symlinkSync('app/VERSION', `${base}/opt/current`);
    const baseLayer = await layerOf(base, await diff(base, before));

    const [work, replay] = [temp.make('wh-work'), temp.make('wh-replay')];
    await applyLayer(Readable.from([baseLayer.bytes]), work);
    await applyLayer(Readable.from([baseLayer.bytes]), replay);
    expect(describeTree(replay)).toEqual(describeTree(work));

    const start = await snapshot(work);
    unlinkSync(`${work}/etc/apt/sources.list`);
    rmSync(`${work}/var/cache/apt/archives`, { recursive: true });
    rmSync(`${work}/opt/app`, { recursive: true });
    mkdirSync(`${work}/opt/app`, { mode: 0o750 });
    chmodSync(`${work}/opt/app`, 0o750);
    writeFileSync(`${work}/opt/app/VERSION`, '2');
    unlinkSync(`${work}/opt/current`);
    symlinkSync('/opt/app/VERSION', `${work}/opt/current`);
    const changes = await diff(work, start);
    const layer = await layerOf(work, changes);

    expect(gnuListing(layer.bytes).map((line) => line.split(/\s+/).slice(5).join(' '))).toEqual([
      'etc/',
      'etc/apt/',
      'etc/apt/.wh.sources.list',
      'opt/',
      'opt/app/',
      'opt/app/.wh..wh..opq',
      'opt/app/VERSION',
      'opt/current -> /opt/app/VERSION',
      'var/',
      'var/cache/',
      'var/cache/apt/',
      'var/cache/apt/.wh.archives',
    ]);
    await applyLayer(Readable.from([layer.bytes]), replay);
    expect(describeTree(replay)).toEqual(describeTree(work));
  });
});

describe('writeLayer errors', () => {
  it('names a changed path that does not exist', async () => {
    const root = temp.make('err');
    const failure = writeLayer(root, [{ path: '/gone', kind: 'add' }], new BufferSink());
    await expect(failure).rejects.toBeInstanceOf(RootfsError);
    await expect(failure).rejects.toThrow('"/gone" is listed as changed (or as the parent of a change) but does not exist under the root');
  });

  it('fails when the output stream fails, and destroys it', async () => {
    const root = temp.make('err-out');
    writeFileSync(`${root}/big`, Buffer.alloc(4 * 1024 * 1024));
    const out = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    await expect(writeLayer(root, [{ path: '/big', kind: 'add' }], out)).rejects.toThrow('disk full');
    expect(out.destroyed).toBe(true);
  });
});

describe('writeLayer throughput', () => {
  class Discard extends Writable {
    override _write(_chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
      callback();
    }
  }

  it('streams a 256 MiB file and 20,000 small files', async () => {
    const root = temp.make('throughput', fastTempBase());
    const big = Buffer.alloc(256 * 1024 * 1024, 1);
    writeFileSync(`${root}/big.bin`, big);
    let started = process.hrtime.bigint();
    const large = await writeLayer(root, [{ path: '/big.bin', kind: 'add' }], new Discard());
    const largeMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(large.size).toBe(512 + big.length + 1024);

    const small = temp.make('throughput-small', fastTempBase());
    const before = await snapshot(small);
    for (let d = 0; d < 100; d++) {
      mkdirSync(`${small}/d${d}`);
      for (let f = 0; f < 199; f++) writeFileSync(`${small}/d${d}/f${f}`, `file ${d}/${f}\n`.repeat(20));
    }
    const changes = await diff(small, before);
    expect(changes).toHaveLength(20_000);
    started = process.hrtime.bigint();
    const many = await writeLayer(small, changes, new Discard());
    const manyMs = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(
      `writeLayer: 256 MiB file in ${largeMs.toFixed(0)} ms (${(256 / (largeMs / 1000)).toFixed(0)} MB/s); ` +
        `20,000 small files (${(many.size / 1e6).toFixed(1)} MB tar) in ${manyMs.toFixed(0)} ms (${(20_000 / (manyMs / 1000)).toFixed(0)} entries/s)`,
    );
  });
});
