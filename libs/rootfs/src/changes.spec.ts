import { describe, expect, it } from 'vitest';
import { changePathToRelative, compareTrees } from './changes';
import type { FileState } from './file-state';

let nextIno = 100n;

function state(type: FileState['type'], overrides: Partial<FileState> = {}): FileState {
  nextIno += 1n;
  return { type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 1n, ctimeNs: 1n, ino: nextIno, birthtimeNs: 1n, rdev: 0, ...overrides };
}

function tree(entries: Record<string, FileState>): Map<string, FileState> {
  return new Map(Object.entries(entries));
}

describe('compareTrees', () => {
  const etc = state('directory');
  const passwd = state('file', { size: 10 });
  const bin = state('directory');
  const sh = state('symlink', { target: 'busybox', mode: 0o777 });
  const before = tree({ etc, 'etc/passwd': passwd, bin, 'bin/sh': sh });

  it('reports nothing for an unchanged tree', () => {
    expect(compareTrees(before, tree({ etc, 'etc/passwd': passwd, bin, 'bin/sh': sh }))).toEqual([]);
  });

  it('reports adds without their unchanged parent directory', () => {
    const after = tree({ etc: { ...etc, mtimeNs: 9n, ctimeNs: 9n, size: 4096 }, 'etc/passwd': passwd, 'etc/group': state('file'), bin, 'bin/sh': sh });
    expect(compareTrees(before, after)).toEqual([{ path: '/etc/group', kind: 'add' }]);
  });

  it.each<[string, Partial<FileState>]>([
    ['content (size and mtime)', { size: 11, mtimeNs: 5n, ctimeNs: 5n }],
    ['mtime only', { mtimeNs: 5n }],
    ['ctime only (mtime put back, new link, same-owner chown)', { ctimeNs: 5n }],
    ['mode (chmod)', { mode: 0o600 }],
    ['owner (chown)', { uid: 1000, gid: 1000 }],
    ['identity (deleted and recreated)', { ino: 999n }],
  ])('reports a modified file: %s', (_what, change) => {
    const after = tree({ etc, 'etc/passwd': { ...passwd, ...change }, bin, 'bin/sh': sh });
    expect(compareTrees(before, after)).toEqual([{ path: '/etc/passwd', kind: 'modify' }]);
  });

  it('reports a retargeted symlink', () => {
    const after = tree({ etc, 'etc/passwd': passwd, bin, 'bin/sh': { ...sh, target: '/bin/bash' } });
    expect(compareTrees(before, after)).toEqual([{ path: '/bin/sh', kind: 'modify' }]);
  });

  it('reports a directory whose own mode or owner changed, not one whose children did', () => {
    const chmodded = tree({ etc: { ...etc, mode: 0o700 }, 'etc/passwd': passwd, bin, 'bin/sh': sh });
    expect(compareTrees(before, chmodded)).toEqual([{ path: '/etc', kind: 'modify' }]);
    const touched = tree({ etc: { ...etc, mtimeNs: 7n, ctimeNs: 7n }, 'etc/passwd': passwd, bin, 'bin/sh': sh });
    expect(compareTrees(before, touched)).toEqual([]);
  });

  it('reports a deleted directory once, not its content', () => {
    expect(compareTrees(before, tree({ bin, 'bin/sh': sh }))).toEqual([{ path: '/etc', kind: 'delete' }]);
    expect(compareTrees(before, tree({ etc, bin, 'bin/sh': sh }))).toEqual([{ path: '/etc/passwd', kind: 'delete' }]);
  });

  it('reports a type change as a modify, without deleting what the old directory held', () => {
    const after = tree({ etc: state('file'), bin, 'bin/sh': sh });
    expect(compareTrees(before, after)).toEqual([{ path: '/etc', kind: 'modify' }]);
    const toDir = tree({ etc, 'etc/passwd': state('directory'), 'etc/passwd/x': state('file'), bin, 'bin/sh': sh });
    expect(compareTrees(before, toDir)).toEqual([
      { path: '/etc/passwd', kind: 'modify' },
      { path: '/etc/passwd/x', kind: 'add' },
    ]);
  });

  it('reports a directory deleted and created again as delete + add, with all its content added', () => {
    const newEtc = state('directory');
    const after = tree({ etc: newEtc, 'etc/passwd': { ...passwd }, 'etc/new': state('file'), bin, 'bin/sh': sh });
    expect(compareTrees(before, after)).toEqual([
      { path: '/etc', kind: 'delete' },
      { path: '/etc', kind: 'add' },
      { path: '/etc/new', kind: 'add' },
      { path: '/etc/passwd', kind: 'add' },
    ]);
  });

  it('tells a recreated directory by its creation time when the inode number was reused', () => {
    const after = tree({ etc: { ...etc, birthtimeNs: 50n }, bin, 'bin/sh': sh });
    expect(compareTrees(before, after)).toEqual([
      { path: '/etc', kind: 'delete' },
      { path: '/etc', kind: 'add' },
    ]);
  });

  it('adds everything under a new directory, sorted parents first', () => {
    const after = tree({ etc, 'etc/passwd': passwd, bin, 'bin/sh': sh, opt: state('directory'), 'opt/a': state('directory'), 'opt/a/b': state('file'), 'opt-b': state('file') });
    expect(compareTrees(before, after).map((c) => `${c.kind} ${c.path}`)).toEqual(['add /opt', 'add /opt-b', 'add /opt/a', 'add /opt/a/b']);
  });
});

describe('changePathToRelative', () => {
  it('accepts moby-style and relative paths', () => {
    expect(changePathToRelative('/etc/passwd')).toBe('etc/passwd');
    expect(changePathToRelative('etc/passwd/')).toBe('etc/passwd');
  });

  it.each(['/', '', '.', '/..', '../etc', '/a/../b'])('refuses %j, which is not a file in the root', (path) => {
    expect(() => changePathToRelative(path)).toThrow(/does not name a file inside the root/);
  });
});
