import { lstat, mkdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ArchiveError, UnsafeArchiveError } from '@cargohold/oci';
import { extractContext } from './extract-context';
import { buildTar, FIXED_MTIME, listTree, streamOf, useTempDirs } from './testing/fixtures';
import type { TarSpec } from './testing/fixtures';

const tempDir = useTempDirs();

/** A sandbox with the context dir inside and a sibling that hostile entries aim at. */
async function sandbox(): Promise<{ base: string; ctx: string; outside: string }> {
  const base = await tempDir();
  const ctx = join(base, 'ctx');
  const outside = join(base, 'outside');
  await mkdir(ctx);
  await mkdir(outside);
  return { base, ctx, outside };
}

async function extract(entries: TarSpec[], ctx: string, options = {}): Promise<{ files: number; bytes: number }> {
  return extractContext(streamOf(await buildTar(entries), 512), ctx, options);
}

describe('extractContext', () => {
  it('unpacks files, directories, symlinks and hard links with their modes and mtimes', async () => {
    const { ctx } = await sandbox();
    const result = await extract(
      [
        { name: 'Dockerfile', content: 'FROM scratch\n' },
        { name: 'src/', type: 'directory', mode: 0o750 },
        { name: 'src/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
        { name: 'src/link', type: 'symlink', linkname: 'run.sh' },
        { name: 'src/again.sh', type: 'link', linkname: 'src/run.sh' },
        { name: 'deep/er/file.txt', content: 'implicit parents' },
      ],
      ctx,
    );
    expect(result).toEqual({ files: 5, bytes: 'FROM scratch\n'.length + '#!/bin/sh\n'.length + 'implicit parents'.length });
    expect(await readFile(join(ctx, 'Dockerfile'), 'utf8')).toBe('FROM scratch\n');
    expect((await stat(join(ctx, 'src'))).mode & 0o7777).toBe(0o750);
    expect((await stat(join(ctx, 'src/run.sh'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(ctx, 'src/run.sh'))).mtime.getTime()).toBe(FIXED_MTIME.getTime());
    expect((await stat(join(ctx, 'src'))).mtime.getTime()).toBe(FIXED_MTIME.getTime());
    expect(await readlink(join(ctx, 'src/link'))).toBe('run.sh');
    expect((await stat(join(ctx, 'src/again.sh'))).ino).toBe((await stat(join(ctx, 'src/run.sh'))).ino);
    expect(await readFile(join(ctx, 'deep/er/file.txt'), 'utf8')).toBe('implicit parents');
  });

  it('accepts a gzip-compressed context (docker build --compress)', async () => {
    const { ctx } = await sandbox();
    const archive = gzipSync(await buildTar([{ name: 'a.txt', content: 'zipped' }]));
    await extractContext(streamOf(archive, 100), ctx);
    expect(await readFile(join(ctx, 'a.txt'), 'utf8')).toBe('zipped');
  });

  it('takes an empty stream as an empty context', async () => {
    const { ctx } = await sandbox();
    await expect(extractContext(Readable.from([]), ctx)).resolves.toEqual({ files: 0, bytes: 0 });
    expect(await listTree(ctx)).toEqual([]);
  });

  it('writes absolute entry names relative to the context', async () => {
    const { base, ctx } = await sandbox();
    await extract([{ name: '/etc/app.conf', content: 'x' }], ctx);
    expect(await readFile(join(ctx, 'etc/app.conf'), 'utf8')).toBe('x');
    expect(await listTree(base)).toEqual(['ctx', 'ctx/etc', 'ctx/etc/app.conf', 'outside']);
  });

  it('skips ignored paths but keeps the ones listed in keep, and re-included files below ignored directories', async () => {
    const { ctx } = await sandbox();
    const ignored = new Set(['node_modules', 'node_modules/x.js', 'Dockerfile', '.dockerignore', 'secret.env', 'logs']);
    const seen: string[] = [];
    const ignores = (path: string): boolean => {
      seen.push(path);
      return ignored.has(path);
    };
    await extract(
      [
        { name: './Dockerfile', content: 'FROM scratch' },
        { name: '.dockerignore', content: 'node_modules\nDockerfile\n' },
        { name: 'node_modules/', type: 'directory' },
        { name: 'node_modules/x.js', content: 'x' },
        { name: 'secret.env', content: 'TOKEN=1' },
        { name: 'logs/', type: 'directory' },
        { name: 'logs/keep.log', content: 'brought back by an exception' },
        { name: 'app.js', content: 'ok' },
      ],
      ctx,
      { ignores, keep: ['Dockerfile', './.dockerignore'] },
    );
    expect(await listTree(ctx)).toEqual(['.dockerignore', 'Dockerfile', 'app.js', 'logs', 'logs/keep.log']);
    expect(seen).toContain('logs/keep.log');
    expect(seen).not.toContain('./Dockerfile');
  });

  it('keeps a listed Dockerfile even below an ignored directory', async () => {
    const { ctx } = await sandbox();
    const ignores = (path: string): boolean => path === 'build' || path.startsWith('build/');
    await extract(
      [
        { name: 'build/', type: 'directory', mode: 0o700 },
        { name: 'build/Dockerfile', content: 'FROM scratch' },
        { name: 'build/other', content: 'dropped' },
      ],
      ctx,
      { ignores, keep: ['build/Dockerfile'] },
    );
    expect(await listTree(ctx)).toEqual(['build', 'build/Dockerfile']);
    // The directory entry itself was ignored: its parent was made as moby's untar makes one.
    expect((await stat(join(ctx, 'build'))).mode & 0o7777).toBe(0o755);
  });

  it('passes on an error of the source stream', async () => {
    const { ctx } = await sandbox();
    const archive = await buildTar([{ name: 'a.txt', content: Buffer.alloc(8192, 1) }]);
    const failing = Readable.from(
      (async function* () {
        yield archive.subarray(0, 1024);
        throw new Error('client went away');
      })(),
    );
    await expect(extractContext(failing, ctx)).rejects.toThrow('client went away');
  });

  it('refuses a context larger than maxBytes before writing the entry that passes it', async () => {
    const { ctx } = await sandbox();
    const attempt = extract(
      [
        { name: 'small.txt', content: 'ok' },
        { name: 'big.bin', content: Buffer.alloc(64 * 1024, 1) },
      ],
      ctx,
      { maxBytes: 16 * 1024 },
    );
    await expect(attempt).rejects.toThrow(UnsafeArchiveError);
    await expect(attempt).rejects.toThrow('build context is larger than the limit of 16384 bytes');
    await expect(lstat(join(ctx, 'big.bin'))).rejects.toThrow(/ENOENT/);
  });

  it('counts the uncompressed size against maxBytes for a gzip context', async () => {
    const { ctx } = await sandbox();
    const bomb = gzipSync(await buildTar([{ name: 'zeros', content: Buffer.alloc(1024 * 1024) }]));
    expect(bomb.length).toBeLessThan(16 * 1024);
    await expect(extractContext(streamOf(bomb), ctx, { maxBytes: 64 * 1024 })).rejects.toThrow(
      'build context is larger than the limit of 65536 bytes',
    );
  });

  it('refuses bzip2 and other compressions it cannot read, clearly', async () => {
    const { ctx } = await sandbox();
    await expect(extractContext(streamOf(Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(512)])), ctx)).rejects.toThrow(
      'build context is bzip2-compressed, which is not supported yet; send it uncompressed or gzip-compressed',
    );
  });

  it('reports a truncated or garbled tar as an ArchiveError', async () => {
    const { ctx } = await sandbox();
    const archive = await buildTar([{ name: 'a.txt', content: Buffer.alloc(4096, 7) }]);
    const truncated = extractContext(streamOf(archive.subarray(0, 1024)), ctx);
    await expect(truncated).rejects.toThrow(ArchiveError);
    await expect(truncated).rejects.toThrow('build context is truncated: the tar stream ended inside entry "a.txt"');
    await expect(extractContext(streamOf(Buffer.alloc(2048, 0x41)), ctx)).rejects.toThrow(/not a valid tar archive/);
  });

  describe('hostile entries: refused, and nothing written outside the context', () => {
    async function refused(entries: TarSpec[], message: RegExp | string): Promise<void> {
      const { base, ctx, outside } = await sandbox();
      const attempt = extract(entries, ctx);
      await expect(attempt).rejects.toThrow(UnsafeArchiveError);
      await expect(attempt).rejects.toThrow(message);
      expect(await listTree(outside)).toEqual([]);
      expect((await listTree(base)).filter((path) => !path.startsWith('ctx'))).toEqual(['outside']);
    }

    it('an entry climbing out with ..', async () => {
      await refused([{ name: '../outside/pwned', content: 'x' }], 'build context entry "../outside/pwned" climbs out of its root with ".."');
    });

    it('an entry climbing out in the middle of its name', async () => {
      await refused([{ name: 'a/../../outside/pwned', content: 'x' }], /climbs out of its root/);
    });

    it('a symlink whose relative target leaves the context', async () => {
      await refused(
        [{ name: 'escape', type: 'symlink', linkname: '../outside' }],
        'build context entry "escape" is a symlink to "../outside", which points outside the build context',
      );
    });

    it('a file written through a symlink planted by an earlier entry (absolute target)', async () => {
      const { base, ctx, outside } = await sandbox();
      const attempt = extract(
        [
          { name: 'door', type: 'symlink', linkname: outside },
          { name: 'door/pwned', content: 'x' },
        ],
        ctx,
      );
      await expect(attempt).rejects.toThrow('build context entry "door/pwned" would be written through the symlink "door"');
      expect(await listTree(outside)).toEqual([]);
      expect(await listTree(base)).toEqual(['ctx', 'ctx/door', 'outside']);
    });

    it('a file written through a symlink to a directory inside the context', async () => {
      await refused(
        [
          { name: 'real/', type: 'directory' },
          { name: 'alias', type: 'symlink', linkname: 'real' },
          { name: 'alias/file', content: 'x' },
        ],
        /would be written through the symlink "alias"/,
      );
    });

    it('a hard link to a file outside', async () => {
      await refused(
        [{ name: 'passwd', type: 'link', linkname: '../outside/secret' }],
        'build context entry "passwd" is a hard link to "../outside/secret", which is outside the build context',
      );
    });

    it('a hard link reaching outside through a symlink', async () => {
      const { ctx, outside } = await sandbox();
      await mkdir(join(outside, 'etc'));
      const attempt = extract(
        [
          { name: 'door', type: 'symlink', linkname: outside },
          { name: 'stolen', type: 'link', linkname: 'door/etc' },
        ],
        ctx,
      );
      await expect(attempt).rejects.toThrow(/would be written through the symlink "door"/);
      await expect(lstat(join(ctx, 'stolen'))).rejects.toThrow(/ENOENT/);
    });

    it('a hard link to a path that is not in the context', async () => {
      await refused([{ name: 'ghost', type: 'link', linkname: 'nothing/here' }], /which does not exist in the build context/);
    });

    it.each(['character-device', 'block-device', 'fifo'] as const)('a %s', async (type) => {
      await refused([{ name: 'dev/thing', type }], `build context entry "dev/thing" is a ${type}, which a build does not create`);
    });
  });

  it('replaces a symlink by a later file of the same name without following it', async () => {
    const { ctx, outside } = await sandbox();
    await extract(
      [
        { name: 'config', type: 'symlink', linkname: join(outside, 'target') },
        { name: 'config', content: 'mine' },
      ],
      ctx,
    );
    expect((await lstat(join(ctx, 'config'))).isFile()).toBe(true);
    expect(await listTree(outside)).toEqual([]);
  });
});
