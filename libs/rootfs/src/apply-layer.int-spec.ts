import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ArchiveError, UnsafeArchiveError } from '@cargohold/oci';
import { applyLayer } from './apply-layer';
import { TempDirs, describeTree, layerTar } from './testing/tree-fixtures';
import type { FixtureEntry } from './testing/tree-fixtures';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

function apply(root: string, entries: readonly FixtureEntry[]) {
  return applyLayer(Readable.from([layerTar(entries)]), root);
}

/** A root with a sibling directory that no layer may touch. */
function sandbox(): { root: string; outside: string } {
  const parent = temp.make('apply');
  mkdirSync(`${parent}/root`);
  mkdirSync(`${parent}/outside`);
  writeFileSync(`${parent}/outside/secret`, 'secret');
  return { root: `${parent}/root`, outside: `${parent}/outside` };
}

describe('applyLayer: entry types and metadata', () => {
  it('creates directories, files, symlinks, hardlinks and fifos with mode, owner and mtime', async () => {
    const { root } = sandbox();
    const result = await apply(root, [
      { name: 'etc/', type: 'directory', mode: 0o750, uid: 1000, gid: 1001, mtime: 1_500_000_000 },
      { name: 'etc/hosts', content: 'localhost\n', mode: 0o640, uid: 1, gid: 2, mtime: 1_400_000_000 },
      { name: 'bin/su', content: 'su', mode: 0o4755, mtime: 1_400_000_001 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox', uid: 5, gid: 6, mtime: 1_400_000_002 },
      { name: 'bin/su2', type: 'hardlink', linkname: 'bin/su', mode: 0o4755, mtime: 1_400_000_001 },
      { name: 'run/pipe', type: 'fifo', mode: 0o620, mtime: 1_400_000_003 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
    ]);
    expect(result).toEqual({ entries: 7, bytes: 12, skippedDevices: 0, skippedXattrs: 0 });

    const etc = lstatSync(`${root}/etc`);
    expect([etc.mode & 0o7777, etc.uid, etc.gid, etc.mtimeMs]).toEqual([0o750, 1000, 1001, 1_500_000_000_000]);
    const hosts = lstatSync(`${root}/etc/hosts`);
    expect([hosts.mode & 0o7777, hosts.uid, hosts.gid, hosts.mtimeMs, hosts.atimeMs]).toEqual([0o640, 1, 2, 1_400_000_000_000, 1_400_000_000_000]);
    expect(readFileSync(`${root}/etc/hosts`, 'utf8')).toBe('localhost\n');
    expect(lstatSync(`${root}/bin/su`).mode & 0o7777).toBe(0o4755);
    const sh = lstatSync(`${root}/bin/sh`);
    expect([sh.isSymbolicLink(), readlinkSync(`${root}/bin/sh`), sh.uid, sh.gid, sh.mtimeMs]).toEqual([true, 'busybox', 5, 6, 1_400_000_002_000]);
    expect(lstatSync(`${root}/bin/su2`).ino).toBe(lstatSync(`${root}/bin/su`).ino);
    const pipe = lstatSync(`${root}/run/pipe`);
    expect([pipe.isFIFO(), pipe.mode & 0o7777]).toEqual([true, 0o620]);
    // Parents the layer did not list are made 0755; tmp keeps its sticky bit.
    expect(lstatSync(`${root}/bin`).mode & 0o7777).toBe(0o755);
    expect(lstatSync(`${root}/tmp`).mode & 0o7777).toBe(0o1777);
  });

  it('sets directory mtimes after the entries inside them', async () => {
    const { root } = sandbox();
    await apply(root, [
      { name: 'usr/', type: 'directory', mtime: 1_000_000_000 },
      { name: 'usr/lib/', type: 'directory', mtime: 1_000_000_001 },
      { name: 'usr/lib/a', content: 'a' },
      { name: 'usr/lib/b', content: 'b' },
    ]);
    expect(lstatSync(`${root}/usr`).mtimeMs).toBe(1_000_000_000_000);
    expect(lstatSync(`${root}/usr/lib`).mtimeMs).toBe(1_000_000_001_000);
  });

  it('reads gzip layers, Readable and async iterable sources alike', async () => {
    const layer = layerTar([{ name: 'a/b', content: 'x'.repeat(100_000) }, { name: 'c', type: 'symlink', linkname: 'a/b' }]);
    const plain = sandbox().root;
    const gzipped = sandbox().root;
    const iterated = sandbox().root;
    await applyLayer(Readable.from([layer]), plain);
    const gzip = gzipSync(layer);
    await applyLayer(Readable.from([gzip.subarray(0, 2), gzip.subarray(2)]), gzipped);
    await applyLayer(
      (async function* () {
        yield layer.subarray(0, 700);
        yield layer.subarray(700);
      })(),
      iterated,
    );
    expect(describeTree(gzipped)).toEqual(describeTree(plain));
    expect(describeTree(iterated)).toEqual(describeTree(plain));
  });

  it('reads layers written by tar-stream (PAX long names) and keeps PAX ids and xattrs', async () => {
    const { root } = sandbox();
    const pack = tar.pack();
    const long = `${'deep/'.repeat(30)}file`;
    pack.entry({ name: long, size: 2, mode: 0o600, uid: 0, gid: 0, mtime: new Date(1_300_000_000_000) }, 'hi');
    const capability = '\u0001\u0000\u0000\u0002\u0000\u0020\u0000\u0000' + '\u0000'.repeat(12);
    pack.entry({ name: 'ping', size: 0, pax: { uid: '3000000', gid: '3000001', 'SCHILY.xattr.user.origin': 'layer', 'SCHILY.xattr.security.capability': capability } }, '');
    pack.entry({ name: 'lossy', size: 0, pax: { 'SCHILY.xattr.user.bin': '\u00ff' } }, '');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
    // tar-stream writes U+00FF as UTF-8; corrupt it into a lone 0xff byte, as a binary value would be.
    const bytes = Buffer.concat(chunks);
    const at = bytes.indexOf(Buffer.from('user.bin=\u00ff', 'utf8'));
    bytes[at + 'user.bin='.length] = 0xff;
    bytes[at + 'user.bin='.length + 1] = 0x20;

    const result = await applyLayer(Readable.from([bytes]), root);
    expect(result.skippedXattrs).toBe(1);
    expect(readFileSync(`${root}/${long}`, 'utf8')).toBe('hi');
    expect([lstatSync(`${root}/ping`).uid, lstatSync(`${root}/ping`).gid]).toEqual([3_000_000, 3_000_001]);
    const dump = execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', '-e', 'hex', `${root}/ping`], { encoding: 'utf8' });
    expect(dump).toContain('user.origin=0x6c61796572');
    expect(dump).toContain('security.capability=0x0100000200200000000000000000000000000000');
  });

  it('skips device nodes and counts them', async () => {
    const { root } = sandbox();
    const result = await apply(root, [
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
      { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
    ]);
    expect(result.skippedDevices).toBe(2);
    expect(readdirSync(`${root}/dev`)).toEqual([]);
  });
});

describe('applyLayer: replacing what lower layers left', () => {
  it('merges a directory entry into an existing directory, keeping its content', async () => {
    const { root } = sandbox();
    mkdirSync(`${root}/etc`, { mode: 0o700 });
    writeFileSync(`${root}/etc/old`, 'old');
    await apply(root, [{ name: 'etc/', type: 'directory', mode: 0o755, uid: 7 }]);
    expect(readFileSync(`${root}/etc/old`, 'utf8')).toBe('old');
    expect([lstatSync(`${root}/etc`).mode & 0o7777, lstatSync(`${root}/etc`).uid]).toEqual([0o755, 7]);
  });

  it('replaces a directory by a file, a file by a directory and a file by a symlink', async () => {
    const { root } = sandbox();
    mkdirSync(`${root}/was-dir/sub`, { recursive: true });
    writeFileSync(`${root}/was-dir/sub/f`, 'f');
    writeFileSync(`${root}/was-file`, 'f');
    writeFileSync(`${root}/to-link`, 'f');
    await apply(root, [
      { name: 'was-dir', content: 'now a file' },
      { name: 'was-file/', type: 'directory' },
      { name: 'was-file/inside', content: 'x' },
      { name: 'to-link', type: 'symlink', linkname: 'was-dir' },
    ]);
    expect(readFileSync(`${root}/was-dir`, 'utf8')).toBe('now a file');
    expect(readFileSync(`${root}/was-file/inside`, 'utf8')).toBe('x');
    expect(readlinkSync(`${root}/to-link`)).toBe('was-dir');
  });

  it('replaces a symlink by a directory instead of writing through it', async () => {
    const { root } = sandbox();
    mkdirSync(`${root}/usr/lib`, { recursive: true });
    symlinkSync('usr/lib', `${root}/lib`);
    await apply(root, [{ name: 'lib/', type: 'directory' }, { name: 'lib/x', content: 'x' }]);
    expect(lstatSync(`${root}/lib`).isDirectory()).toBe(true);
    expect(readdirSync(`${root}/usr/lib`)).toEqual([]);
  });

  it('writes through a symlinked parent inside the root (usrmerge), as a chrooted moby does', async () => {
    const { root } = sandbox();
    mkdirSync(`${root}/usr/lib`, { recursive: true });
    symlinkSync('usr/lib', `${root}/lib`);
    await apply(root, [{ name: 'lib/libz.so.1', content: 'z' }]);
    expect(lstatSync(`${root}/lib`).isSymbolicLink()).toBe(true);
    expect(readFileSync(`${root}/usr/lib/libz.so.1`, 'utf8')).toBe('z');
  });
});

describe('applyLayer: whiteouts', () => {
  function lower(root: string): void {
    mkdirSync(`${root}/etc`);
    writeFileSync(`${root}/etc/hosts`, 'h');
    writeFileSync(`${root}/etc/keep`, 'k');
    mkdirSync(`${root}/opt/app/lib`, { recursive: true });
    writeFileSync(`${root}/opt/app/lib/x.so`, 'x');
    mkdirSync(`${root}/data/sub`, { recursive: true });
    writeFileSync(`${root}/data/a`, 'a');
    writeFileSync(`${root}/data/sub/b`, 'b');
  }

  it('deletes a file and a whole directory', async () => {
    const { root } = sandbox();
    lower(root);
    const result = await apply(root, [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.hosts', mode: 0 },
      { name: '.wh.opt', mode: 0 },
    ]);
    expect(result.entries).toBe(3);
    expect(existsSync(`${root}/etc/hosts`)).toBe(false);
    expect(existsSync(`${root}/etc/.wh.hosts`)).toBe(false);
    expect(readFileSync(`${root}/etc/keep`, 'utf8')).toBe('k');
    expect(existsSync(`${root}/opt`)).toBe(false);
  });

  it('hides the lower content of an opaque directory and keeps what the layer adds, before or after the marker', async () => {
    const { root } = sandbox();
    lower(root);
    await apply(root, [
      { name: 'data/', type: 'directory', mode: 0o700 },
      { name: 'data/!early', content: 'early' },
      { name: 'data/.wh..wh..opq', mode: 0o700 },
      { name: 'data/sub/', type: 'directory' },
      { name: 'data/sub/new', content: 'new' },
    ]);
    expect(describeTree(`${root}/data`, { ignoreDirTimes: true })).toEqual({
      '!early': expect.objectContaining({ type: 'file' }),
      sub: expect.objectContaining({ type: 'dir' }),
      'sub/new': expect.objectContaining({ type: 'file' }),
    });
    expect(readFileSync(`${root}/etc/hosts`, 'utf8')).toBe('h');
  });

  it('skips AUFS metadata and refuses a whiteout that names no file', async () => {
    const { root } = sandbox();
    lower(root);
    await apply(root, [{ name: '.wh..wh.aufs', content: 'meta' }, { name: '.wh..wh.plnk/', type: 'directory' }]);
    expect(readdirSync(root).sort()).toEqual(['data', 'etc', 'opt']);
    await expect(apply(root, [{ name: 'etc/.wh..', mode: 0 }])).rejects.toThrow(/layer entry "etc\/\.wh\.\." is a whiteout that names no file/);
    expect(existsSync(`${root}/etc/keep`)).toBe(true);
  });
});

describe('applyLayer: nothing is ever written outside the root', () => {
  function expectOutsideUntouched(outside: string): void {
    expect(readdirSync(outside)).toEqual(['secret']);
    expect(readFileSync(`${outside}/secret`, 'utf8')).toBe('secret');
    expect(lstatSync(`${outside}/secret`).nlink).toBe(1);
    expect(readdirSync(`${outside}/..`).sort()).toEqual(['outside', 'root']);
  }

  it.each<[string, FixtureEntry[], RegExp]>([
    ['a name that climbs out', [{ name: '../outside/pwned', content: 'x' }], /layer entry "\.\.\/outside\/pwned" climbs out of the root with "\.\."/],
    ['a name that climbs out midway', [{ name: 'a/../../outside/pwned', content: 'x' }], /layer entry "a\/\.\.\/\.\.\/outside\/pwned" climbs out/],
    ['a hardlink to a file outside', [{ name: 'stolen', type: 'hardlink', linkname: '../outside/secret' }], /hardlink "stolen" points at "\.\.\/outside\/secret", outside the root/],
    ['a symlink whose relative target climbs out', [{ name: 'etc/esc', type: 'symlink', linkname: '../../outside' }], /symlink "etc\/esc" points at "\.\.\/\.\.\/outside", outside the root/],
    ['a whiteout that climbs out', [{ name: '../outside/.wh.secret' }], /climbs out of the root/],
    ['a file in place of the root', [{ name: './', content: 'x' }], /layer entry "\.\/" would replace the root directory/],
  ])('refuses %s, naming the entry', async (_what, entries, message) => {
    const { root, outside } = sandbox();
    const failure = apply(root, entries);
    await expect(failure).rejects.toBeInstanceOf(UnsafeArchiveError);
    await expect(failure).rejects.toThrow(message);
    expectOutsideUntouched(outside);
  });

  it('takes absolute names inside the root', async () => {
    const { root, outside } = sandbox();
    await apply(root, [{ name: `${outside}/pwned`, content: 'x' }, { name: '/../../etc/motd', content: 'm' }]);
    expect(readFileSync(`${root}${outside}/pwned`, 'utf8')).toBe('x');
    expect(readFileSync(`${root}/etc/motd`, 'utf8')).toBe('m');
    expectOutsideUntouched(outside);
  });

  it('resolves symlinks already in the root with the root as "/"', async () => {
    const { root, outside } = sandbox();
    symlinkSync(outside, `${root}/evil`); // absolute: the host's outside dir, for a process outside the root
    symlinkSync('../../../../..', `${root}/up`);
    symlinkSync('loop-b', `${root}/loop-a`);
    symlinkSync('loop-a', `${root}/loop-b`);
    await apply(root, [
      { name: 'evil/pwned', content: 'x' },
      { name: 'up/pwned-too', content: 'y' },
    ]);
    expect(readFileSync(`${root}${outside}/pwned`, 'utf8')).toBe('x');
    expect(readFileSync(`${root}/pwned-too`, 'utf8')).toBe('y');
    await expect(apply(root, [{ name: 'loop-a/x', content: 'x' }])).rejects.toThrow(/layer entry "loop-a\/x" cannot be created: too many symlinks/);
    expectOutsideUntouched(outside);
  });

  it('resolves symlinks the layer itself creates with the root as "/"', async () => {
    const { root, outside } = sandbox();
    await apply(root, [
      { name: 'hop', type: 'symlink', linkname: outside },
      { name: 'hop/pwned', content: 'x' },
      { name: 'slash', type: 'symlink', linkname: '/' },
      { name: 'slash/etc/passwd', content: 'p' },
    ]);
    expect(readFileSync(`${root}${outside}/pwned`, 'utf8')).toBe('x');
    expect(readFileSync(`${root}/etc/passwd`, 'utf8')).toBe('p');
    expectOutsideUntouched(outside);
  });

  it('never links to a file outside through a symlink', async () => {
    const { root, outside } = sandbox();
    symlinkSync(outside, `${root}/evil`);
    const failure = apply(root, [{ name: 'stolen', type: 'hardlink', linkname: 'evil/secret' }]);
    await expect(failure).rejects.toBeInstanceOf(ArchiveError);
    await expect(failure).rejects.toThrow(/hardlink "stolen" points at "evil\/secret", which does not exist/);
    expect(existsSync(`${root}/stolen`)).toBe(false);
    expectOutsideUntouched(outside);
  });

  it('links to a symlink itself, not to what it points at', async () => {
    const { root, outside } = sandbox();
    symlinkSync(`${outside}/secret`, `${root}/pointer`);
    await apply(root, [{ name: 'copy', type: 'hardlink', linkname: 'pointer' }]);
    expect(lstatSync(`${root}/copy`).isSymbolicLink()).toBe(true);
    expectOutsideUntouched(outside);
  });

  it('writes no further than a file where a directory is needed', async () => {
    const { root, outside } = sandbox();
    writeFileSync(`${root}/file`, 'f');
    await expect(apply(root, [{ name: 'file/x', content: 'x' }])).rejects.toThrow(/layer entry "file\/x" cannot be created: "\/file" exists and is not a directory/);
    expectOutsideUntouched(outside);
  });
});

describe('applyLayer: malformed layers', () => {
  it('reports a truncated layer and a layer that is not a tar', async () => {
    const { root } = sandbox();
    const layer = layerTar([{ name: 'big', content: 'x'.repeat(5000) }]);
    await expect(applyLayer(Readable.from([layer.subarray(0, 1500)]), root)).rejects.toThrow(/layer is truncated: the tar stream ended in the middle of an entry after entry "big"/);
    await expect(applyLayer(Readable.from([Buffer.alloc(600, 0x41)]), root)).rejects.toThrow(/layer is not a tar archive/);
    await expect(applyLayer(Readable.from([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0])]), root)).rejects.toThrow(/layer is zstd-compressed, which is not supported/);
    await expect(applyLayer(Readable.from([Buffer.concat([gzipSync(layer).subarray(0, 40)])]), root)).rejects.toThrow(/layer is not valid gzip data|layer is truncated|not a tar archive/);
  });

  it('passes the source error through', async () => {
    const { root } = sandbox();
    const source = (async function* () {
      yield layerTar([{ name: 'a', content: 'a' }]).subarray(0, 512);
      throw new Error('connection reset');
    })();
    await expect(applyLayer(source, root)).rejects.toThrow('connection reset');
  });

  it('stops reading a source that has not ended once it refuses the layer', async () => {
    const { root, outside } = sandbox();
    const source = new PassThrough();
    source.write(layerTar([{ name: '../outside/pwned', content: 'x' }]).subarray(0, 1024));
    await expect(applyLayer(source, root)).rejects.toThrow(/climbs out of the root/);
    expect(source.destroyed).toBe(true);
    expect(readdirSync(outside)).toEqual(['secret']);
  });

  it('refuses a hardlink to a missing file or to a directory', async () => {
    const { root } = sandbox();
    await expect(apply(root, [{ name: 'l', type: 'hardlink', linkname: 'nope' }])).rejects.toThrow(/hardlink "l" points at "nope", which does not exist/);
    await expect(apply(root, [{ name: 'd/', type: 'directory' }, { name: 'l', type: 'hardlink', linkname: 'd' }])).rejects.toThrow(/hardlink "l" points at "d", which is a directory/);
  });
});
