import { chmod, chown, lstat, mkdir, readFile, readlink, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UnsafeArchiveError } from '@cargohold/oci';
import { resolveChown } from './chown';
import { copyInto } from './copy-into';
import { CopyError } from './errors';
import { resolveSources } from './resolve-sources';
import { buildTar, FIXED_MTIME, listTree, useTempDirs } from './testing/fixtures';
import type { TarSpec } from './testing/fixtures';
import type { ResolvedSource } from './types';

const tempDir = useTempDirs();
const SOURCE_MTIME = new Date('2020-01-02T03:04:05Z');

interface World {
  ctx: string;
  rootfs: string;
  /** A directory beside the rootfs that no copy may touch. */
  outside: string;
}

async function world(files: Record<string, string | Buffer> = {}): Promise<World> {
  const base = await tempDir();
  const w = { ctx: join(base, 'ctx'), rootfs: join(base, 'rootfs'), outside: join(base, 'outside') };
  await Promise.all([mkdir(w.ctx), mkdir(w.rootfs), mkdir(w.outside)]);
  await writeFile(join(w.outside, 'secret'), 'host secret');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(w.ctx, path, '..'), { recursive: true });
    await writeFile(join(w.ctx, path), content);
    // Context files belong to someone else: COPY must still make them 0:0.
    await chown(join(w.ctx, path), 1234, 1234);
    await utimes(join(w.ctx, path), SOURCE_MTIME, SOURCE_MTIME);
  }
  return w;
}

async function sources(w: World, ...paths: string[]): Promise<ResolvedSource[]> {
  return resolveSources(w.ctx, paths);
}

async function owner(path: string): Promise<string> {
  const stats = await lstat(path);
  return `${stats.uid}:${stats.gid}`;
}

async function modeOf(path: string): Promise<number> {
  return (await lstat(path)).mode & 0o7777;
}

async function untouched(w: World): Promise<void> {
  expect(await listTree(w.outside)).toEqual(['secret']);
  expect(await readFile(join(w.outside, 'secret'), 'utf8')).toBe('host secret');
}

describe('copyInto: COPY destination rules', () => {
  it('file → file: the file becomes dest, keeping mode and mtime, owned by 0:0, parents made 0755', async () => {
    const w = await world({ 'a.txt': 'alpha' });
    await chmod(join(w.ctx, 'a.txt'), 0o640);
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '/app/conf/b.txt', { workdir: '/' });
    const copied = join(w.rootfs, 'app/conf/b.txt');
    expect(await readFile(copied, 'utf8')).toBe('alpha');
    expect(await modeOf(copied)).toBe(0o640);
    expect((await stat(copied)).mtime.getTime()).toBe(SOURCE_MTIME.getTime());
    expect(await owner(copied)).toBe('0:0');
    expect(await modeOf(join(w.rootfs, 'app'))).toBe(0o755);
    expect(await owner(join(w.rootfs, 'app/conf'))).toBe('0:0');
    expect(await listTree(w.rootfs)).toEqual(['app', 'app/conf', 'app/conf/b.txt']);
  });

  it('file → dir/: a trailing slash puts the file inside, under its own name', async () => {
    const w = await world({ 'src/a.txt': 'alpha' });
    await copyInto(await sources(w, 'src/a.txt'), w.rootfs, '/app/', { workdir: '/' });
    expect(await readFile(join(w.rootfs, 'app/a.txt'), 'utf8')).toBe('alpha');
  });

  it('file → existing directory without a slash goes inside it', async () => {
    const w = await world({ 'a.txt': 'alpha' });
    await mkdir(join(w.rootfs, 'app'));
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '/app', { workdir: '/' });
    expect(await readFile(join(w.rootfs, 'app/a.txt'), 'utf8')).toBe('alpha');
  });

  it('a relative dest counts from the workdir', async () => {
    const w = await world({ 'a.txt': 'alpha' });
    await copyInto(await sources(w, 'a.txt'), w.rootfs, 'conf/', { workdir: '/srv/app' });
    expect(await readFile(join(w.rootfs, 'srv/app/conf/a.txt'), 'utf8')).toBe('alpha');
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '.', { workdir: '/srv/app' });
    expect(await readFile(join(w.rootfs, 'srv/app/a.txt'), 'utf8')).toBe('alpha');
  });

  it('replaces an existing file, and a symlink at the final name instead of writing through it', async () => {
    const w = await world({ 'a.txt': 'new' });
    await mkdir(join(w.rootfs, 'app'));
    await writeFile(join(w.rootfs, 'app/a.txt'), 'old');
    await symlink(join(w.outside, 'secret'), join(w.rootfs, 'app/b.txt'));
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '/app/', { workdir: '/' });
    expect(await readFile(join(w.rootfs, 'app/a.txt'), 'utf8')).toBe('new');
    // A source named b.txt: the link at /app/b.txt is replaced, its host target left alone.
    const named = await resolveSources(w.ctx, ['a.txt']);
    await copyInto([{ ...named[0], name: 'b.txt' }], w.rootfs, '/app/', { workdir: '/' });
    expect((await lstat(join(w.rootfs, 'app/b.txt'))).isFile()).toBe(true);
    await untouched(w);
  });

  it('dir → dir: copies the contents, not the directory, merging into what is there', async () => {
    const w = await world({ 'site/index.html': 'index', 'site/css/main.css': 'css', 'site/js/app.js': 'js' });
    await chmod(join(w.ctx, 'site/css'), 0o750);
    await symlink('index.html', join(w.ctx, 'site/home.html'));
    await mkdir(join(w.rootfs, 'srv/www'), { recursive: true });
    await writeFile(join(w.rootfs, 'srv/www/existing.txt'), 'kept');
    await chmod(join(w.rootfs, 'srv/www'), 0o711);
    await copyInto(await sources(w, 'site'), w.rootfs, '/srv/www', { workdir: '/' });
    expect(await listTree(join(w.rootfs, 'srv/www'))).toEqual([
      'css',
      'css/main.css',
      'existing.txt',
      'home.html',
      'index.html',
      'js',
      'js/app.js',
    ]);
    expect(await readlink(join(w.rootfs, 'srv/www/home.html'))).toBe('index.html');
    expect(await modeOf(join(w.rootfs, 'srv/www/css'))).toBe(0o750);
    expect(await owner(join(w.rootfs, 'srv/www/css/main.css'))).toBe('0:0');
    expect((await stat(join(w.rootfs, 'srv/www/css/main.css'))).mtime.getTime()).toBe(SOURCE_MTIME.getTime());
    // The destination existed: it keeps its own mode.
    expect(await modeOf(join(w.rootfs, 'srv/www'))).toBe(0o711);
  });

  it('dir → missing dest creates it (0755) and its parents', async () => {
    const w = await world({ 'site/index.html': 'index' });
    await copyInto(await sources(w, 'site'), w.rootfs, '/a/b/c/', { workdir: '/' });
    expect(await readFile(join(w.rootfs, 'a/b/c/index.html'), 'utf8')).toBe('index');
    expect(await modeOf(join(w.rootfs, 'a/b/c'))).toBe(0o755);
    expect(await modeOf(join(w.rootfs, 'a'))).toBe(0o755);
    expect(await listTree(w.rootfs)).toEqual(['a', 'a/b', 'a/b/c', 'a/b/c/index.html']);
  });

  it('refuses a directory copied onto a file', async () => {
    const w = await world({ 'site/index.html': 'index' });
    await writeFile(join(w.rootfs, 'taken'), 'file');
    await expect(copyInto(await sources(w, 'site'), w.rootfs, '/taken', { workdir: '/' })).rejects.toThrow(
      'COPY failed: cannot copy directory site to /taken: it exists and is not a directory',
    );
  });

  it('glob → dir/: every match lands inside', async () => {
    const w = await world({ 'a.js': 'a', 'b.js': 'b', 'c.ts': 'c' });
    await copyInto(await sources(w, '*.js'), w.rootfs, '/js/', { workdir: '/' });
    expect(await listTree(w.rootfs)).toEqual(['js', 'js/a.js', 'js/b.js']);
  });

  it('several sources (even from one glob) need a dest ending in /', async () => {
    const w = await world({ 'a.js': 'a', 'b.js': 'b' });
    const attempt = copyInto(await sources(w, '*.js'), w.rootfs, '/js', { workdir: '/' });
    await expect(attempt).rejects.toThrow(CopyError);
    await expect(attempt).rejects.toThrow(
      'When using COPY with more than one source file, the destination must be a directory and end with a /',
    );
    expect(await listTree(w.rootfs)).toEqual([]);
  });

  it('a single glob match may still become a file', async () => {
    const w = await world({ 'only.js': 'o' });
    await copyInto(await sources(w, '*.js'), w.rootfs, '/renamed.js', { workdir: '/' });
    expect(await readFile(join(w.rootfs, 'renamed.js'), 'utf8')).toBe('o');
  });
});

describe('copyInto: owners and modes', () => {
  it('--chown gives copied files and directories (and a file dest’s new parents) the identity', async () => {
    const w = await world({ 'site/index.html': 'i', 'site/sub/x.txt': 'x', 'a.txt': 'a' });
    await symlink('index.html', join(w.ctx, 'site/link'));
    const chownTo = { uid: 1000, gid: 1001 };
    await copyInto(await sources(w, 'site'), w.rootfs, '/srv/site', { workdir: '/', chown: chownTo });
    expect(await owner(join(w.rootfs, 'srv/site'))).toBe('1000:1001');
    expect(await owner(join(w.rootfs, 'srv'))).toBe('0:0');
    expect(await owner(join(w.rootfs, 'srv/site/sub'))).toBe('1000:1001');
    expect(await owner(join(w.rootfs, 'srv/site/sub/x.txt'))).toBe('1000:1001');
    expect(await owner(join(w.rootfs, 'srv/site/link'))).toBe('1000:1001');
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '/home/app/a.txt', { workdir: '/', chown: chownTo });
    expect(await owner(join(w.rootfs, 'home/app/a.txt'))).toBe('1000:1001');
    expect(await owner(join(w.rootfs, 'home/app'))).toBe('1000:1001');
  });

  it('an existing destination directory keeps its owner under --chown', async () => {
    const w = await world({ 'site/index.html': 'i' });
    await mkdir(join(w.rootfs, 'srv'));
    await copyInto(await sources(w, 'site'), w.rootfs, '/srv', { workdir: '/', chown: { uid: 5, gid: 5 } });
    expect(await owner(join(w.rootfs, 'srv'))).toBe('0:0');
    expect(await owner(join(w.rootfs, 'srv/index.html'))).toBe('5:5');
  });

  it('--chmod sets the bits of copied files and directories, not of symlinks', async () => {
    const w = await world({ 'site/run.sh': 'r', 'site/sub/x.txt': 'x' });
    await symlink('run.sh', join(w.ctx, 'site/link'));
    await copyInto(await sources(w, 'site'), w.rootfs, '/opt/site/', { workdir: '/', chmod: 0o750 });
    expect(await modeOf(join(w.rootfs, 'opt/site/run.sh'))).toBe(0o750);
    expect(await modeOf(join(w.rootfs, 'opt/site/sub'))).toBe(0o750);
    expect(await modeOf(join(w.rootfs, 'opt/site/sub/x.txt'))).toBe(0o750);
    expect(await modeOf(join(w.rootfs, 'opt/site'))).toBe(0o750);
    expect(await modeOf(join(w.rootfs, 'opt'))).toBe(0o755);
    expect((await lstat(join(w.rootfs, 'opt/site/link'))).isSymbolicLink()).toBe(true);
  });

  it('keeps setuid, setgid and sticky bits, also under --chown', async () => {
    const w = await world({ 'tree/bin/tool': 't', 'tree/shared/x': 'x', 'tree/tmp/y': 'y' });
    await chmod(join(w.ctx, 'tree/bin/tool'), 0o4755);
    await chmod(join(w.ctx, 'tree/shared'), 0o2775);
    await chmod(join(w.ctx, 'tree/tmp'), 0o1777);
    await copyInto(await sources(w, 'tree'), w.rootfs, '/', { workdir: '/', chown: { uid: 9, gid: 9 } });
    expect(await modeOf(join(w.rootfs, 'bin/tool'))).toBe(0o4755);
    expect(await modeOf(join(w.rootfs, 'shared'))).toBe(0o2775);
    expect(await modeOf(join(w.rootfs, 'tmp'))).toBe(0o1777);
  });
});

describe('resolveChown', () => {
  async function rootfsWithUsers(): Promise<World> {
    const w = await world();
    await mkdir(join(w.rootfs, 'etc'));
    await writeFile(join(w.rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n');
    await writeFile(join(w.rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
    return w;
  }

  it('looks names and numbers up in the rootfs', async () => {
    const w = await rootfsWithUsers();
    expect(await resolveChown('app', w.rootfs)).toEqual({ uid: 1000, gid: 1000 });
    expect(await resolveChown('app:staff', w.rootfs)).toEqual({ uid: 1000, gid: 50 });
    expect(await resolveChown('1234', w.rootfs)).toEqual({ uid: 1234, gid: 1234 });
    expect(await resolveChown('web:0', w.rootfs)).toEqual({ uid: 33, gid: 0 });
    expect(await resolveChown('77:staff', w.rootfs)).toEqual({ uid: 77, gid: 50 });
  });

  it('fails as the legacy builder does', async () => {
    const w = await rootfsWithUsers();
    await expect(resolveChown('nobody', w.rootfs)).rejects.toThrow(
      'unable to convert uid/gid chown string to host mapping: can\'t find uid for user nobody: no such user: nobody',
    );
    // A user alone names the group too, and "web" has no group.
    await expect(resolveChown('web', w.rootfs)).rejects.toThrow("can't find gid for group web: no such group: web");
    await expect(resolveChown('a:b:c', w.rootfs)).rejects.toThrow(
      'unable to convert uid/gid chown string to host mapping: invalid chown string format: a:b:c',
    );
    const bare = await world();
    await expect(resolveChown('app', bare.rootfs)).rejects.toThrow(
      "can't find uid for user app: open /etc/passwd: no such file or directory",
    );
    expect(await resolveChown('10:20', bare.rootfs)).toEqual({ uid: 10, gid: 20 });
  });

  it('reads /etc/passwd through rootfs symlinks without leaving the rootfs', async () => {
    const w = await world();
    await writeFile(join(w.outside, 'passwd'), 'evil:x:666:666::/:/bin/sh\n');
    await mkdir(join(w.rootfs, 'etc'));
    await symlink(join(w.outside, 'passwd'), join(w.rootfs, 'etc/passwd'));
    await expect(resolveChown('evil', w.rootfs)).rejects.toThrow("can't find uid for user evil: open /etc/passwd: no such file or directory");
  });
});

describe('copyInto: a hostile rootfs cannot redirect writes outside it', () => {
  it('a destination directory that is an absolute symlink out of the rootfs', async () => {
    const w = await world({ 'a.txt': 'alpha', 'site/index.html': 'i' });
    await symlink(w.outside, join(w.rootfs, 'app'));
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '/app/', { workdir: '/' });
    await copyInto(await sources(w, 'site'), w.rootfs, '/app/', { workdir: '/' });
    await untouched(w);
    // Resolved as if the rootfs were /: the link's target is looked up inside it.
    expect(await readFile(join(w.rootfs, w.outside, 'a.txt'), 'utf8')).toBe('alpha');
    expect(await readFile(join(w.rootfs, w.outside, 'index.html'), 'utf8')).toBe('i');
  });

  it('a relative symlink climbing above the rootfs stops at its root', async () => {
    const w = await world({ 'a.txt': 'alpha' });
    await symlink('../../../../../../../../..', join(w.rootfs, 'up'));
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '/up/', { workdir: '/' });
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '/up/../../../escaped.txt', { workdir: '/' });
    await untouched(w);
    expect(await readFile(join(w.rootfs, 'a.txt'), 'utf8')).toBe('alpha');
    expect(await readFile(join(w.rootfs, 'escaped.txt'), 'utf8')).toBe('alpha');
  });

  it('a file destination that is a symlink to a host file', async () => {
    const w = await world({ 'a.txt': 'alpha' });
    await mkdir(join(w.rootfs, 'etc'));
    await symlink(join(w.outside, 'secret'), join(w.rootfs, 'etc/conf'));
    await copyInto(await sources(w, 'a.txt'), w.rootfs, '/etc/conf', { workdir: '/' });
    await untouched(w);
    expect(await readFile(join(w.rootfs, w.outside, 'secret'), 'utf8')).toBe('alpha');
  });

  it('a symlink inside the destination where the copied tree has a directory is replaced, not followed', async () => {
    const w = await world({ 'tree/sub/x.txt': 'x' });
    await mkdir(join(w.rootfs, 'app'));
    await symlink(w.outside, join(w.rootfs, 'app/sub'));
    await copyInto(await sources(w, 'tree'), w.rootfs, '/app', { workdir: '/' });
    await untouched(w);
    expect((await lstat(join(w.rootfs, 'app/sub'))).isDirectory()).toBe(true);
    expect(await readFile(join(w.rootfs, 'app/sub/x.txt'), 'utf8')).toBe('x');
  });

  it('a parent symlink below the destination is followed only inside the destination', async () => {
    const w = await world({ 'tree/sub/x.txt': 'x' });
    await mkdir(join(w.rootfs, 'app'));
    await symlink(w.outside, join(w.rootfs, 'app/sub'));
    // The ignored `sub` directory is not copied itself, so its child goes through the rootfs's link.
    const [tree] = await resolveSources(w.ctx, ['tree'], { ignores: (path) => path === 'tree/sub' });
    expect(tree.entries.map((entry) => entry.path)).toEqual(['sub/x.txt']);
    await copyInto([tree], w.rootfs, '/app', { workdir: '/' });
    await untouched(w);
    expect(await readFile(join(w.rootfs, 'app', w.outside, 'x.txt'), 'utf8')).toBe('x');
  });

  it('a symlink loop in the destination is an error, not a hang', async () => {
    const w = await world({ 'a.txt': 'alpha' });
    await symlink('loop-b', join(w.rootfs, 'loop-a'));
    await symlink('loop-a', join(w.rootfs, 'loop-b'));
    await expect(copyInto(await sources(w, 'a.txt'), w.rootfs, '/loop-a/', { workdir: '/' })).rejects.toThrow(
      /too many levels of symbolic links/,
    );
  });
});

describe('copyInto: ADD archives', () => {
  const members: TarSpec[] = [
    { name: 'pkg/', type: 'directory', mode: 0o750, uid: 33, gid: 33 },
    { name: 'pkg/bin/run', content: 'run', mode: 0o755, uid: 33, gid: 34 },
    { name: 'pkg/link', type: 'symlink', linkname: 'bin/run' },
    { name: 'pkg/hard', type: 'link', linkname: 'pkg/bin/run' },
  ];

  async function withArchive(name: string, data: Buffer): Promise<World> {
    const w = await world({ [name]: data });
    return w;
  }

  it.each([
    ['plain', (tar: Buffer) => tar],
    ['gzip', (tar: Buffer) => gzipSync(tar)],
  ])('extracts a local %s tar into dest, keeping the archive’s owners and modes', async (_kind, encode) => {
    const w = await withArchive('app.tar', encode(await buildTar(members)));
    await copyInto(await sources(w, 'app.tar'), w.rootfs, '/opt/', { workdir: '/', isAdd: true, chown: { uid: 7, gid: 7 } });
    expect(await listTree(join(w.rootfs, 'opt'))).toEqual(['pkg', 'pkg/bin', 'pkg/bin/run', 'pkg/hard', 'pkg/link']);
    expect(await readFile(join(w.rootfs, 'opt/pkg/bin/run'), 'utf8')).toBe('run');
    expect(await owner(join(w.rootfs, 'opt/pkg/bin/run'))).toBe('33:34');
    expect(await modeOf(join(w.rootfs, 'opt/pkg'))).toBe(0o750);
    expect(await owner(join(w.rootfs, 'opt/pkg'))).toBe('33:33');
    expect((await stat(join(w.rootfs, 'opt/pkg/bin/run'))).mtime.getTime()).toBe(FIXED_MTIME.getTime());
    expect(await readlink(join(w.rootfs, 'opt/pkg/link'))).toBe('bin/run');
    expect(await owner(join(w.rootfs, 'opt'))).toBe('0:0');
  });

  it('COPY, ADD with extraction off, and a downloaded tar all copy the archive as a file', async () => {
    const archive = await buildTar(members);
    const w = await withArchive('app.tar', archive);
    await copyInto(await sources(w, 'app.tar'), w.rootfs, '/copy/', { workdir: '/' });
    await copyInto(await sources(w, 'app.tar'), w.rootfs, '/noextract/', { workdir: '/', isAdd: true, extractArchives: false });
    const [local] = await sources(w, 'app.tar');
    await copyInto([{ ...local, remote: true }], w.rootfs, '/remote/', { workdir: '/', isAdd: true });
    for (const dir of ['copy', 'noextract', 'remote']) {
      expect(await readFile(join(w.rootfs, dir, 'app.tar'))).toEqual(archive);
    }
  });

  it('copies a gzip file that holds no tar as it is', async () => {
    const data = gzipSync(Buffer.from('just text'));
    const w = await withArchive('notes.gz', data);
    await copyInto(await sources(w, 'notes.gz'), w.rootfs, '/data/', { workdir: '/', isAdd: true });
    expect(await readFile(join(w.rootfs, 'data/notes.gz'))).toEqual(data);
  });

  it('refuses compressions it cannot look into, saying what to do', async () => {
    const w = await withArchive('app.tar.bz2', Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(64)]));
    await expect(copyInto(await sources(w, 'app.tar.bz2'), w.rootfs, '/opt/', { workdir: '/', isAdd: true })).rejects.toThrow(
      'ADD failed: cannot extract app.tar.bz2: bzip2-compressed archives are not supported (only plain and gzip-compressed tar); use COPY to add the file as it is',
    );
  });

  it('extracts through a hostile /opt symlink into the rootfs only', async () => {
    const w = await withArchive('app.tar', await buildTar(members));
    await symlink(w.outside, join(w.rootfs, 'opt'));
    await copyInto(await sources(w, 'app.tar'), w.rootfs, '/opt', { workdir: '/', isAdd: true });
    await untouched(w);
    expect(await readFile(join(w.rootfs, w.outside, 'pkg/bin/run'), 'utf8')).toBe('run');
  });

  describe('hostile archives are refused and write nothing outside', () => {
    async function refused(entries: TarSpec[], message: RegExp | string): Promise<World> {
      const w = await withArchive('evil.tar', await buildTar(entries));
      const attempt = copyInto(await sources(w, 'evil.tar'), w.rootfs, '/opt/', { workdir: '/', isAdd: true });
      await expect(attempt).rejects.toThrow(CopyError);
      await expect(attempt).rejects.toThrow(message);
      await expect(attempt.catch((err: Error) => Promise.reject(err.cause))).rejects.toBeInstanceOf(UnsafeArchiveError);
      await untouched(w);
      return w;
    }

    it('.. traversal', async () => {
      const w = await refused(
        [{ name: '../../escaped', content: 'x' }],
        'failed to copy files: archive evil.tar entry "../../escaped" climbs out of its root with ".."',
      );
      expect(await listTree(w.rootfs)).toEqual(['opt']);
    });

    it('a symlink it planted, then a file through it', async () => {
      await refused(
        [
          { name: 'door', type: 'symlink', linkname: '/' },
          { name: 'door/etc/passwd', content: 'root::0:0::/:/bin/sh' },
        ],
        'archive evil.tar entry "door/etc/passwd" would be written through the symlink "door" it created',
      );
    });

    it('a symlink it planted below an older rootfs link, then a file through it', async () => {
      const w = await withArchive('evil.tar', await buildTar([
        { name: 'pre/door', type: 'symlink', linkname: '/' },
        { name: 'pre/door/etc/passwd', content: 'x' },
      ]));
      await mkdir(join(w.rootfs, 'opt/real'), { recursive: true });
      await symlink('real', join(w.rootfs, 'opt/pre'));
      await expect(copyInto(await sources(w, 'evil.tar'), w.rootfs, '/opt/', { workdir: '/', isAdd: true })).rejects.toThrow(
        'would be written through the symlink "real/door" it created',
      );
      await expect(lstat(join(w.rootfs, 'opt/etc'))).rejects.toThrow(/ENOENT/);
      await untouched(w);
    });

    it('a symlink whose relative target leaves the destination', async () => {
      await refused([{ name: 'up', type: 'symlink', linkname: '../../../outside' }], /is a symlink to "..\/..\/..\/outside", which points outside the destination/);
    });

    it('a hard link out of the destination', async () => {
      await refused([{ name: 'h', type: 'link', linkname: '../../outside/secret' }], /is a hard link to "..\/..\/outside\/secret", which is outside the destination/);
    });

    it('a device node', async () => {
      await refused([{ name: 'dev/mem', type: 'character-device' }], /is a character-device, which a build does not create/);
    });
  });

  it('stops extracting past maxExtractBytes', async () => {
    const w = await withArchive('big.tar.gz', gzipSync(await buildTar([{ name: 'zeros', content: Buffer.alloc(1024 * 1024) }])));
    await expect(
      copyInto(await sources(w, 'big.tar.gz'), w.rootfs, '/opt/', { workdir: '/', isAdd: true, maxExtractBytes: 64 * 1024 }),
    ).rejects.toThrow('archive big.tar.gz is larger than the limit of 65536 bytes');
  });
});
