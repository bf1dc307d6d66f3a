import { describe, expect, it } from 'vitest';
import { extract } from 'tar-stream';
import { digestLayer, FIXTURE_MTIME, layerItems, layerTar } from './fixture-layer.util';
import type { FixtureLayer } from './fixture.types';

async function list(layer: FixtureLayer): Promise<Array<{ name: string; type: string; linkname: string | null; mode: number; body: string }>> {
  const parser = extract();
  const out: Array<{ name: string; type: string; linkname: string | null; mode: number; body: string }> = [];
  const done = (async () => {
    for await (const entry of parser) {
      let body = '';
      for await (const chunk of entry) body += (chunk as Buffer).toString();
      const { name, type, linkname, mode, mtime, uid, gid } = entry.header;
      expect([mtime.getTime(), uid, gid]).toEqual([FIXTURE_MTIME.getTime(), 0, 0]);
      out.push({ name, type, linkname: linkname ?? null, mode, body });
    }
  })();
  for await (const chunk of layerTar(await layerItems(layer))) parser.write(chunk as Buffer);
  parser.end(undefined);
  await done;
  return out;
}

describe('fixture layer tars', () => {
  it('sorts entries, adds parent directories and writes whiteouts as .wh. files', async () => {
    const entries = await list({
      files: [
        { path: '/data/z.txt', content: 'z' },
        { path: 'data/old.txt', whiteout: true },
        { path: './bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
        { path: 'bin/alias', symlink: 'tool' },
      ],
    });
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['bin/', 'directory'],
      ['bin/alias', 'symlink'],
      ['bin/tool', 'file'],
      ['data/', 'directory'],
      ['data/.wh.old.txt', 'file'],
      ['data/z.txt', 'file'],
    ]);
    expect(entries.find((e) => e.name === 'bin/tool')!.mode).toBe(0o755);
    expect(entries.find((e) => e.name === 'bin/alias')!.linkname).toBe('tool');
  });

  it('keeps hostile names and link targets as given', async () => {
    const entries = await list({
      files: [
        { path: '../../evil', content: 'x' },
        { path: 'x', symlink: '/etc' },
        { path: 'x/passwd', content: 'p' },
        { path: 'hard', hardlink: '../../../etc/shadow' },
        { path: 'dev/null2', device: { kind: 'char', major: 1, minor: 3 } },
      ],
    });
    expect(entries.map((e) => [e.name, e.type, e.linkname])).toEqual([
      ['../../evil', 'file', null],
      ['dev/', 'directory', null],
      ['dev/null2', 'character-device', null],
      ['hard', 'link', '../../../etc/shadow'],
      ['x', 'symlink', '/etc'],
      ['x/passwd', 'file', null],
    ]);
  });

  it('gives the same digest for the same input, and a different one for one changed byte', async () => {
    const layer = (content: string): FixtureLayer => ({ files: [{ path: 'a', content }, { path: 'b', generated: { size: 3_000_000, fill: 'random', seed: 's' } }] });
    const first = await digestLayer(await layerItems(layer('1')));
    expect(await digestLayer(await layerItems(layer('1')))).toEqual(first);
    expect((await digestLayer(await layerItems(layer('2')))).diffId).not.toBe(first.diffId);
    expect(first.size % 512).toBe(0);
    expect(first.size).toBeGreaterThan(3_000_000);
  });

  it('refuses a path listed twice', async () => {
    await expect(layerItems({ files: [{ path: 'a', content: '1' }, { path: '/a', content: '2' }] })).rejects.toThrow(/lists "a" twice/);
  });
});
