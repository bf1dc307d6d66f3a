import { describe, expect, it } from 'vitest';
import { ancestorsOf, baseOf, cleanLayerName, compareUtf8, parentOf, symlinkTargetEscapes } from './paths';

describe('cleanLayerName', () => {
  it.each([
    ['etc/passwd', 'etc/passwd'],
    ['./etc//passwd', 'etc/passwd'],
    ['usr/bin/', 'usr/bin'],
    ['a/b/../c', 'a/c'],
    ['./', ''],
    ['.', ''],
    ['', ''],
    ['/etc/passwd', 'etc/passwd'],
    ['/', ''],
    // An absolute name cannot climb above "/", exactly as Go's filepath.Clean treats it.
    ['/../etc/shadow', 'etc/shadow'],
  ])('%j → %j', (name, path) => {
    expect(cleanLayerName(name)).toEqual({ ok: true, path });
  });

  it.each(['..', '../etc/passwd', 'a/../../etc', './../x', 'a/b/../../../x'])('refuses %j, which climbs out', (name) => {
    expect(cleanLayerName(name)).toEqual({ ok: false });
  });
});

describe('symlinkTargetEscapes (moby refuses these symlinks when unpacking)', () => {
  it.each([
    ['etc/os-release', '../usr/lib/os-release', false],
    ['usr/lib/x86_64-linux-gnu/libz.so', '../../../lib/libz.so.1', false],
    ['bin', 'usr/bin', false],
    ['a/link', '/anything/../../at/all', false],
    ['a/link', '.', false],
    ['link', '..', true],
    ['etc/link', '../../etc/shadow', true],
    // Dipping below the root and coming back is refused too, whatever the root is called.
    ['link', '../root/x', true],
  ])('%s -> %s escapes: %s', (path, target, escapes) => {
    expect(symlinkTargetEscapes(path, target)).toBe(escapes);
  });
});

describe('path helpers', () => {
  it('splits paths', () => {
    expect(parentOf('a/b/c')).toBe('a/b');
    expect(parentOf('a')).toBe('');
    expect(baseOf('a/b/c')).toBe('c');
    expect(ancestorsOf('a/b/c')).toEqual(['a', 'a/b']);
    expect(ancestorsOf('a')).toEqual([]);
  });

  it('orders by UTF-8 bytes, parents before children', () => {
    const names = ['a/b', 'a', 'a-b', 'a.b/c', 'b', '\u{1F600}', '\uFFFD', 'é'];
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...names].sort(compareUtf8)).toEqual(byBytes);
    expect(byBytes.indexOf('a')).toBeLessThan(byBytes.indexOf('a/b'));
  });
});
