import { createHash } from 'node:crypto';
import { chmod, mkdir, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileDigest, sourcesChecksum } from './checksum';
import { resolveSources } from './resolve-sources';
import { useTempDirs } from './testing/fixtures';

const tempDir = useTempDirs();

/** The same small project, laid out in a fresh directory with the given mtime on every file. */
async function project(mtime: Date): Promise<string> {
  const ctx = await tempDir();
  await mkdir(join(ctx, 'app/lib'), { recursive: true });
  await writeFile(join(ctx, 'app/main.js'), 'console.log("hi")\n');
  await writeFile(join(ctx, 'app/lib/util.js'), 'export const x = 1;\n');
  await writeFile(join(ctx, 'README.md'), '# readme\n');
  await chmod(join(ctx, 'app/main.js'), 0o755);
  await symlink('main.js', join(ctx, 'app/entry'));
  for (const path of ['app/main.js', 'app/lib/util.js', 'README.md', 'app/lib', 'app']) await utimes(join(ctx, path), mtime, mtime);
  return ctx;
}

async function checksumOf(ctx: string, ...paths: string[]): Promise<string> {
  return sourcesChecksum(await resolveSources(ctx, paths.length ? paths : ['app']));
}

describe('sourcesChecksum', () => {
  it('is the same for identical trees wherever they lie and whatever their mtimes', async () => {
    const first = await project(new Date('2001-01-01T00:00:00Z'));
    const second = await project(new Date('2024-06-30T12:00:00Z'));
    const sum = await checksumOf(first);
    expect(sum).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await checksumOf(second)).toBe(sum);
    expect(await checksumOf(first, 'README.md', 'app')).toBe(await checksumOf(second, 'README.md', 'app'));
  });

  it('changes with content, mode, names, symlink targets and added or removed entries', async () => {
    const ctx = await project(new Date('2001-01-01T00:00:00Z'));
    const seen = new Set([await checksumOf(ctx)]);
    const expectNew = async (): Promise<void> => {
      const sum = await checksumOf(ctx);
      expect(seen.has(sum)).toBe(false);
      seen.add(sum);
    };
    await writeFile(join(ctx, 'app/lib/util.js'), 'export const x = 2;\n');
    await expectNew();
    await chmod(join(ctx, 'app/lib/util.js'), 0o600);
    await expectNew();
    await rename(join(ctx, 'app/lib/util.js'), join(ctx, 'app/lib/utils.js'));
    await expectNew();
    await unlink(join(ctx, 'app/entry'));
    await symlink('lib/utils.js', join(ctx, 'app/entry'));
    await expectNew();
    await mkdir(join(ctx, 'app/empty'));
    await expectNew();
    await rm(join(ctx, 'app/empty'), { recursive: true });
    await writeFile(join(ctx, 'app/new.txt'), '');
    await expectNew();
  });

  it('tells a file from its name (it names the copy in a directory) and sources apart by order', async () => {
    const ctx = await tempDir();
    await writeFile(join(ctx, 'a.txt'), 'same');
    await writeFile(join(ctx, 'b.txt'), 'same');
    const a = await checksumOf(ctx, 'a.txt');
    const b = await checksumOf(ctx, 'b.txt');
    expect(a).not.toBe(b);
    expect(await checksumOf(ctx, 'a.txt', 'b.txt')).not.toBe(await checksumOf(ctx, 'b.txt', 'a.txt'));
  });

  it('counts a file from a URL apart from a local one with the same bytes', async () => {
    const ctx = await tempDir();
    await writeFile(join(ctx, 'a.tar'), 'bytes');
    const [local] = await resolveSources(ctx, ['a.tar']);
    expect(await sourcesChecksum([local])).not.toBe(await sourcesChecksum([{ ...local, remote: true }]));
  });

  it('hashes a file many read chunks long exactly like its bytes', async () => {
    const ctx = await tempDir();
    const big = Buffer.alloc(5 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    await writeFile(join(ctx, 'big.bin'), big);
    expect(await fileDigest(join(ctx, 'big.bin'))).toEqual({
      size: big.length,
      digest: createHash('sha256').update(big).digest('hex'),
    });
  });
});
