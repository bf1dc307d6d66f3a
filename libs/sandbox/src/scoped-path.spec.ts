import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cleanInRootPath, resolveInRoot } from './scoped-path';

describe('cleanInRootPath', () => {
  it('makes paths absolute and never climbs above /', () => {
    expect(cleanInRootPath('srv//app/./x/../y/')).toBe('/srv/app/y');
    expect(cleanInRootPath('/../../etc')).toBe('/etc');
    expect(cleanInRootPath('')).toBe('/');
  });
});

describe('resolveInRoot', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'cargohold-scoped-'));
    await mkdir(path.join(root, 'real/etc'), { recursive: true });
    await symlink('/real/etc', path.join(root, 'etc'));
    await symlink('../../../../..', path.join(root, 'real/up'));
    await symlink('/', path.join(root, 'real/abs-root'));
    await symlink('loop-b', path.join(root, 'loop-a'));
    await symlink('loop-a', path.join(root, 'loop-b'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('follows absolute links inside the root, not on the host', async () => {
    expect(await resolveInRoot(root, '/etc/hosts')).toBe(path.join(root, 'real/etc/hosts'));
  });

  it('stops .. and / targets at the root', async () => {
    expect(await resolveInRoot(root, '/real/up/etc/passwd')).toBe(path.join(root, 'real/etc/passwd'));
    expect(await resolveInRoot(root, '/real/abs-root/proc')).toBe(path.join(root, 'proc'));
  });

  it('appends the missing part of a path as is', async () => {
    expect(await resolveInRoot(root, '/etc/new/dir/../file')).toBe(path.join(root, 'real/etc/new/file'));
  });

  it('gives up on link loops', async () => {
    await expect(resolveInRoot(root, '/loop-a/x')).rejects.toThrow('too many levels of symbolic links resolving /loop-a/x');
  });
});
