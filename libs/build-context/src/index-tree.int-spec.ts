import { execFileSync } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ContextIndexer } from '@cargohold/context-index';
import { sourcesChecksum } from './checksum';
import { extractContext } from './extract-context';
import { resolveSources } from './resolve-sources';
import { IndexTree } from './source-tree';
import { useTempDirs } from './testing/fixtures';
import type { ResolvedSource } from './types';

const tempDir = useTempDirs();

/** A context of every shape resolution cares about, tarred by GNU tar (`./` names, a root entry). */
async function contextTar(): Promise<Buffer> {
  const dir = await tempDir();
  const file = async (path: string, content: string, mode = 0o644): Promise<void> => {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
    await chmod(join(dir, path), mode);
  };
  await file('Dockerfile', 'FROM scratch\n');
  await file('.dockerignore', 'logs\n!logs/keep.log\n*.tmp\n');
  await file('src/app.js', 'app', 0o755);
  await file('src/lib/util.js', 'util');
  await file('src/lib/setuid-tool', 'tool', 0o4750);
  await file('src/scratch.tmp', 'tmp');
  await file('logs/a.log', 'a');
  await file('logs/keep.log', 'keep');
  await file('assets/b.png', 'b');
  await file('assets/a.png', 'a');
  await file('assets/A.png', 'A');
  await mkdir(join(dir, 'empty'));
  await chmod(join(dir, 'empty'), 0o700);
  await symlink('src/app.js', join(dir, 'app-link'));
  await symlink('src', join(dir, 'src-link'));
  await symlink('lib/util.js', join(dir, 'src/util-link'));
  await symlink('/etc/passwd', join(dir, 'abs-link'));
  return execFileSync('tar', ['-C', dir, '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
}

/** What the checksum and the copy see of a resolution, digests aside (only the index has them). */
function shape(sources: ResolvedSource[]): unknown {
  return sources.map((s) => ({ ...s, entries: s.entries.map(({ digest: _d, mtimeMs: _m, ...rest }) => rest) }));
}

async function outcome(run: () => Promise<ResolvedSource[]>): Promise<{ shape: unknown; checksum: string } | { error: string }> {
  try {
    const sources = await run();
    return { shape: shape(sources), checksum: await sourcesChecksum(sources) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('resolving COPY sources in a context index', () => {
  it('finds exactly what resolving the extracted context finds, with the same checksums and errors', async () => {
    const data = await contextTar();
    const indexer = new ContextIndexer({ keep: ['Dockerfile'] });
    await pipeline(Readable.from([data]), indexer);
    const { index } = await indexer.outcome;
    expect(index).not.toBeNull();

    const dir = join(await tempDir(), 'context');
    await extractContext(Readable.from([data]), dir);
    const tree = new IndexTree(index!, dir);
    const ignored = new Set(['logs', 'logs/a.log', 'src/scratch.tmp']);
    const ignores = (p: string): boolean => ignored.has(p);

    const cases = [
      ['.'],
      ['src'],
      ['src/'],
      ['src/app.js'],
      ['./src/lib/../app.js'],
      ['app-link'],
      ['src-link/lib'],
      ['src/util-link'],
      ['assets/*.png'],
      ['*/*.js'],
      ['src/*', 'logs'],
      ['logs/keep.log'],
      ['empty'],
      ['missing'],
      ['nomatch*'],
      ['abs-link'],
      ['../outside'],
      ['src/scratch.tmp'],
    ];
    for (const sources of cases) {
      const fromIndex = await outcome(() => resolveSources(tree, sources, { ignores }));
      const fromDisk = await outcome(() => resolveSources(dir, sources, { ignores }));
      expect(fromIndex, sources.join(' ')).toEqual(fromDisk);
    }
    // The cases cover both outcomes.
    expect((await outcome(() => resolveSources(tree, ['missing'], { ignores }))) as object).toHaveProperty('error');
    expect((await outcome(() => resolveSources(tree, ['abs-link'], { ignores }))) as object).toHaveProperty('error');
  });
});
