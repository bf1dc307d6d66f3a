import { isTarHeader } from './archive-sniff';
import { parseIdLine } from './chown';
import { copyInto, normalizeDest } from './copy-into';
import { CopyError } from './errors';
import { cleanRelative } from '@cargohold/context-index';
import { buildTar } from './testing/fixtures';
import type { ResolvedSource } from './types';
import { fileNameFor } from './url-source';

function fileSource(name: string): ResolvedSource {
  return {
    source: name,
    path: name,
    name,
    kind: 'file',
    hostPath: `/nonexistent/${name}`,
    remote: false,
    entries: [{ path: '', type: 'file', hostPath: `/nonexistent/${name}`, mode: 0o644, size: 0, mtimeMs: 0 }],
  };
}

describe('normalizeDest (moby normalizeDest)', () => {
  it.each([
    ['/app', 'x', '/app/x'],
    ['/app', 'x/', '/app/x/'],
    ['/app', '.', '/app'],
    ['/app', './', '/app/'],
    ['', 'x', '/x'],
    ['/app', '/abs', '/abs'],
    ['/app', '/abs/', '/abs/'],
    ['/app/sub', '../x', '/app/x'],
  ])('workdir %j, dest %j → %j', (workdir, dest, expected) => {
    expect(normalizeDest(workdir, dest)).toBe(expected);
  });
});

describe('copyInto destination rules that need no disk', () => {
  it('refuses several sources unless the destination ends in /, with the legacy text', async () => {
    const attempt = copyInto([fileSource('a'), fileSource('b')], '/nonexistent-rootfs', '/app', { workdir: '/' });
    await expect(attempt).rejects.toThrow(CopyError);
    await expect(attempt).rejects.toThrow(
      'When using COPY with more than one source file, the destination must be a directory and end with a /',
    );
  });

  it('names ADD in the same refusal, and refuses `.` as a directory for several sources', async () => {
    await expect(
      copyInto([fileSource('a'), fileSource('b')], '/nonexistent-rootfs', '.', { workdir: '/app', isAdd: true }),
    ).rejects.toThrow('When using ADD with more than one source file, the destination must be a directory and end with a /');
  });

  it('refuses an empty source list', async () => {
    await expect(copyInto([], '/nonexistent-rootfs', '/app/', { workdir: '/' })).rejects.toThrow(
      'COPY failed: no source files were specified',
    );
  });
});

describe('cleanRelative (entry names)', () => {
  it.each([
    ['./a//b/../c/', 'a/c'],
    ['/etc/passwd', 'etc/passwd'],
    ['./', ''],
    ['a/..', ''],
    ['../x', null],
    ['a/../../x', null],
    ['/../etc', null],
  ])('%j → %j', (name, expected) => {
    expect(cleanRelative(name)).toBe(expected);
  });
});

describe('passwd/group lines', () => {
  it('finds the id of the named line only', () => {
    expect(parseIdLine('app:x:1000:1000::/home/app:/bin/sh', 'app')).toBe(1000);
    expect(parseIdLine('staff:x:50:alice,bob', 'staff')).toBe(50);
    expect(parseIdLine('application:x:1:1::/:/bin/sh', 'app')).toBeNull();
    expect(parseIdLine('  ', 'app')).toBeNull();
    expect(parseIdLine('app:x:notanumber:1', 'app')).toBeNull();
  });
});

describe('archive sniffing', () => {
  it('knows a tar header by its checksum and nothing else', async () => {
    const archive = await buildTar([{ name: 'a.txt', content: 'hello' }]);
    expect(isTarHeader(archive.subarray(0, 512))).toBe(true);
    const corrupted = Buffer.from(archive.subarray(0, 512));
    corrupted[0] ^= 0xff;
    expect(isTarHeader(corrupted)).toBe(false);
    expect(isTarHeader(Buffer.alloc(512))).toBe(false);
    expect(isTarHeader(Buffer.from('just some text'.padEnd(600, '.')))).toBe(false);
    expect(isTarHeader(archive.subarray(0, 100))).toBe(false);
  });
});

describe('download file names (moby getFilenameForDownload)', () => {
  it.each([
    ['/files/app.tar.gz', null, 'app.tar.gz'],
    ['/files/na%20me.txt', null, 'na me.txt'],
    ['/files/', 'attachment; filename="report.csv"', 'report.csv'],
    ['/', "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt", 'résumé.txt'],
    ['/', 'attachment; filename=../../etc/passwd', 'passwd'],
    ['/', 'attachment; filename=".."', ''],
    ['', null, ''],
    ['/dir/', null, ''],
  ])('path %j, Content-Disposition %j → %j', (path, disposition, expected) => {
    expect(fileNameFor(path, disposition)).toBe(expected);
  });
});
