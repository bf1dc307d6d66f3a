import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CopyError } from './errors';
import { resolveSources } from './resolve-sources';
import { useTempDirs } from './testing/fixtures';

const tempDir = useTempDirs();

/** A context: files from a map (`dir/` keys are directories), plus a sibling dir outside it. */
async function context(files: Record<string, string>): Promise<{ ctx: string; outside: string }> {
  const base = await tempDir();
  const ctx = join(base, 'ctx');
  const outside = join(base, 'outside');
  await mkdir(ctx);
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'host secret');
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith('/')) await mkdir(join(ctx, path), { recursive: true });
    else {
      await mkdir(join(ctx, path, '..'), { recursive: true });
      await writeFile(join(ctx, path), content);
    }
  }
  return { ctx, outside };
}

describe('resolveSources', () => {
  it('resolves a file from the context root, with or without a leading / or ./', async () => {
    const { ctx } = await context({ 'app/main.js': 'main', 'app/lib/util.js': 'util' });
    await chmod(join(ctx, 'app/main.js'), 0o751);
    for (const written of ['app/main.js', '/app/main.js', './app/main.js', 'app/../app/main.js']) {
      const [source] = await resolveSources(ctx, [written]);
      expect(source).toMatchObject({ source: written, path: 'app/main.js', name: 'main.js', kind: 'file', remote: false });
      expect(source.hostPath).toBe(join(ctx, 'app/main.js'));
      expect(source.entries).toEqual([
        expect.objectContaining({ path: '', type: 'file', mode: 0o751, size: 4, hostPath: join(ctx, 'app/main.js') }),
      ]);
    }
  });

  it('resolves a directory to its descendants (not itself), depth first in byte order', async () => {
    const { ctx } = await context({ 'app/b.js': 'b', 'app/a/z.js': 'z', 'app/a-b.js': 'ab', 'app/empty/': '' });
    await symlink('b.js', join(ctx, 'app/link'));
    const [source] = await resolveSources(ctx, ['app']);
    expect(source.kind).toBe('directory');
    expect(source.entries.map((entry) => `${entry.type}:${entry.path}`)).toEqual([
      'directory:a',
      'file:a/z.js',
      'file:a-b.js',
      'file:b.js',
      'directory:empty',
      'symlink:link',
    ]);
    expect(source.entries.find((entry) => entry.path === 'link')?.linkTarget).toBe('b.js');
  });

  it('resolves `.` to the whole context', async () => {
    const { ctx } = await context({ 'a.txt': 'a', 'dir/b.txt': 'b' });
    const [source] = await resolveSources(ctx, ['.']);
    expect(source).toMatchObject({ path: '', kind: 'directory', hostPath: ctx });
    expect(source.entries.map((entry) => entry.path)).toEqual(['a.txt', 'dir', 'dir/b.txt']);
  });

  it('expands wildcards per path component, each match its own source, in walk order', async () => {
    const { ctx } = await context({
      'src/a.js': '',
      'src/b.js': '',
      'src/c.ts': '',
      'src/sub/d.js': '',
      'pkg1/package.json': '',
      'pkg2/package.json': '',
      'pkgx/other.json': '',
      'file1.txt': '',
      'file22.txt': '',
    });
    const paths = async (pattern: string): Promise<string[]> =>
      (await resolveSources(ctx, [pattern])).map((source) => source.path);
    expect(await paths('src/*.js')).toEqual(['src/a.js', 'src/b.js']);
    expect(await paths('pkg?/package.json')).toEqual(['pkg1/package.json', 'pkg2/package.json']);
    expect(await paths('file?.txt')).toEqual(['file1.txt']);
    expect(await paths('src/[ab].js')).toEqual(['src/a.js', 'src/b.js']);
    expect(await paths('src/[^a].*')).toEqual(['src/b.js', 'src/c.ts']);
    expect(await paths('*/*.js')).toEqual(['src/a.js', 'src/b.js']);
    expect(await paths('s*')).toEqual(['src']);
  });

  it('does not descend through a symlinked directory while expanding a wildcard (filepath.Walk)', async () => {
    const { ctx } = await context({ 'real/a.js': '' });
    await symlink('real', join(ctx, 'alias'));
    expect((await resolveSources(ctx, ['*/a.js'])).map((source) => source.path)).toEqual(['real/a.js']);
  });

  it('fails with the legacy text when a path is missing', async () => {
    const { ctx } = await context({ 'a.txt': '' });
    const attempt = resolveSources(ctx, ['./missing/file.txt']);
    await expect(attempt).rejects.toThrow(CopyError);
    await expect(attempt).rejects.toThrow(
      'COPY failed: file not found in build context or excluded by .dockerignore: stat missing/file.txt: file does not exist',
    );
    await expect(resolveSources(ctx, ['nope'], { instruction: 'ADD' })).rejects.toThrow(
      'ADD failed: file not found in build context or excluded by .dockerignore: stat nope: file does not exist',
    );
  });

  it('fails only when no source matched anything', async () => {
    const { ctx } = await context({ 'a.txt': '' });
    await expect(resolveSources(ctx, ['*.md'])).rejects.toThrow('COPY failed: no source files were specified');
    expect((await resolveSources(ctx, ['*.md', 'a.txt'])).map((source) => source.path)).toEqual(['a.txt']);
  });

  it('refuses .. that leaves the context', async () => {
    const { ctx } = await context({ 'a.txt': '' });
    await expect(resolveSources(ctx, ['../outside/secret'])).rejects.toThrow(
      'COPY failed: forbidden path outside the build context: ../outside/secret ()',
    );
    await expect(resolveSources(ctx, ['a/../../x'])).rejects.toThrow('forbidden path outside the build context: a/../../x ()');
    await expect(resolveSources(ctx, ['../*'])).rejects.toThrow('forbidden path outside the build context: ../* ()');
  });

  it('follows symlinks that stay inside the context, named after the link', async () => {
    const { ctx } = await context({ 'real/config.json': '{}', 'data/file.txt': 'data' });
    await symlink('real/config.json', join(ctx, 'config.json'));
    await symlink('../data', join(ctx, 'real/data-link'));
    const [file] = await resolveSources(ctx, ['config.json']);
    expect(file).toMatchObject({ path: 'config.json', name: 'config.json', kind: 'file', hostPath: join(ctx, 'real/config.json') });
    const [dir] = await resolveSources(ctx, ['real/data-link']);
    expect(dir).toMatchObject({ kind: 'directory', hostPath: join(ctx, 'data') });
    expect(dir.entries.map((entry) => entry.path)).toEqual(['file.txt']);
  });

  it('refuses a symlink that leads outside the context, relative or absolute', async () => {
    const { ctx, outside } = await context({ 'a.txt': '' });
    await symlink('../outside/secret', join(ctx, 'relative'));
    await symlink(join(outside, 'secret'), join(ctx, 'absolute'));
    await mkdir(join(ctx, 'dir'));
    await symlink('../../outside', join(ctx, 'dir/up'));
    await expect(resolveSources(ctx, ['relative'])).rejects.toThrow(
      'COPY failed: forbidden path outside the build context: relative (symlink relative -> ../outside/secret leads outside the context)',
    );
    await expect(resolveSources(ctx, ['absolute'])).rejects.toThrow(/forbidden path outside the build context: absolute \(symlink absolute -> \//);
    await expect(resolveSources(ctx, ['dir/up/secret'])).rejects.toThrow(/forbidden path outside the build context: dir\/up\/secret/);
    await expect(resolveSources(ctx, ['*'])).rejects.toThrow(/forbidden path outside the build context: absolute/);
  });

  it('keeps symlinks inside a copied directory as they are, even pointing out (they are data)', async () => {
    const { ctx } = await context({ 'dir/a.txt': '' });
    await symlink('/etc/passwd', join(ctx, 'dir/abs'));
    const [source] = await resolveSources(ctx, ['dir']);
    expect(source.entries.find((entry) => entry.path === 'abs')).toMatchObject({ type: 'symlink', linkTarget: '/etc/passwd' });
  });

  it('makes ignored paths invisible: named, matched by a wildcard, or inside a directory', async () => {
    const { ctx } = await context({ 'Dockerfile': 'FROM x', 'app/a.js': '', 'app/secret.env': '', 'b.js': '', 'c.js': '' });
    const ignores = (path: string): boolean => ['Dockerfile', 'app/secret.env', 'c.js'].includes(path);
    await expect(resolveSources(ctx, ['Dockerfile'], { ignores })).rejects.toThrow(
      'COPY failed: file not found in build context or excluded by .dockerignore: stat Dockerfile: file does not exist',
    );
    expect((await resolveSources(ctx, ['*.js'], { ignores })).map((source) => source.path)).toEqual(['b.js']);
    const [app] = await resolveSources(ctx, ['app'], { ignores });
    expect(app.entries.map((entry) => entry.path)).toEqual(['a.js']);
    const [root] = await resolveSources(ctx, ['.'], { ignores });
    expect(root.entries.map((entry) => entry.path)).toEqual(['app', 'app/a.js', 'b.js']);
  });

  it('shows an ignored directory only for what exceptions brought back inside it', async () => {
    const { ctx } = await context({ 'logs/keep.log': 'k', 'logs/drop.log': 'd', 'cache/x': '' });
    const ignores = (path: string): boolean =>
      path === 'logs' || path === 'logs/drop.log' || path === 'cache' || path.startsWith('cache/');
    const [logs] = await resolveSources(ctx, ['logs'], { ignores });
    expect(logs.entries.map((entry) => entry.path)).toEqual(['keep.log']);
    await expect(resolveSources(ctx, ['cache'], { ignores })).rejects.toThrow(/file not found in build context/);
    const [root] = await resolveSources(ctx, ['.'], { ignores });
    expect(root.entries.map((entry) => entry.path)).toEqual(['logs/keep.log']);
  });

  it('refuses URLs for COPY with the legacy text', async () => {
    const { ctx } = await context({});
    await expect(resolveSources(ctx, ['https://example.com/a.tgz'])).rejects.toThrow("COPY failed: source can't be a URL for COPY");
  });
});
