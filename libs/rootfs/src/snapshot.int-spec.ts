import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { diff, snapshot } from './snapshot';
import { TempDirs, fastTempBase } from './testing/tree-fixtures';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

function baseTree(): string {
  const root = temp.make('snapshot');
  mkdirSync(`${root}/etc`);
  writeFileSync(`${root}/etc/passwd`, 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(`${root}/etc/hosts`, '127.0.0.1 localhost\n');
  writeFileSync(`${root}/etc/motd`, 'hi\n');
  mkdirSync(`${root}/bin`);
  writeFileSync(`${root}/bin/busybox`, 'ELF');
  symlinkSync('busybox', `${root}/bin/sh`);
  mkdirSync(`${root}/var/cache/apt`, { recursive: true });
  writeFileSync(`${root}/var/cache/apt/pkgcache.bin`, 'cache');
  mkdirSync(`${root}/opt/app`, { recursive: true });
  writeFileSync(`${root}/opt/app/old`, 'old');
  writeFileSync(`${root}/was-file`, 'f');
  mkdirSync(`${root}/was-dir/sub`, { recursive: true });
  writeFileSync(`${root}/was-dir/sub/x`, 'x');
  writeFileSync(`${root}/stamp`, 'same content');
  return root;
}

describe('snapshot and diff', () => {
  it('report nothing when nothing changed, even after reads', async () => {
    const root = baseTree();
    const before = await snapshot(root);
    expect(before.entries.size).toBe(19);
    expect(await diff(root, before)).toEqual([]);
  });

  it('detect adds, modifies, deletes, chmod, chown, retargets, type changes and replaced directories', async () => {
    const root = baseTree();
    const stamp = lstatSync(`${root}/stamp`);
    const before = await snapshot(root);
    // What a RUN step might do:
    writeFileSync(`${root}/etc/group`, 'root:x:0:\n'); // add
    writeFileSync(`${root}/etc/hosts`, '127.0.0.1 localhost builder\n'); // modify content
    chmodSync(`${root}/etc/motd`, 0o600); // chmod
    chownSync(`${root}/bin/busybox`, 1000, 1000); // chown
    unlinkSync(`${root}/bin/sh`);
    symlinkSync('/bin/busybox', `${root}/bin/sh`); // retarget
    rmSync(`${root}/var/cache/apt`, { recursive: true }); // delete a directory
    unlinkSync(`${root}/opt/app/old`); // delete a file
    unlinkSync(`${root}/was-file`);
    mkdirSync(`${root}/was-file`); // file → directory
    writeFileSync(`${root}/was-file/inside`, 'i');
    rmSync(`${root}/was-dir`, { recursive: true });
    writeFileSync(`${root}/was-dir`, 'now a file'); // directory → file
    writeFileSync(`${root}/stamp`, 'SAME CONTENT');
    utimesSync(`${root}/stamp`, stamp.atime, stamp.mtime); // content changed, mtime put back: ctime tells
    rmSync(`${root}/opt`, { recursive: true });
    mkdirSync(`${root}/opt/app`, { recursive: true }); // opt deleted and created again
    writeFileSync(`${root}/opt/app/new`, 'new');
    mkdirSync(`${root}/usr/local/bin`, { recursive: true });
    writeFileSync(`${root}/usr/local/bin/tool`, 'tool');

    expect(await diff(root, before)).toEqual([
      { path: '/bin/busybox', kind: 'modify' },
      { path: '/bin/sh', kind: 'modify' },
      { path: '/etc/group', kind: 'add' },
      { path: '/etc/hosts', kind: 'modify' },
      { path: '/etc/motd', kind: 'modify' },
      { path: '/opt', kind: 'delete' },
      { path: '/opt', kind: 'add' },
      { path: '/opt/app', kind: 'add' },
      { path: '/opt/app/new', kind: 'add' },
      { path: '/stamp', kind: 'modify' },
      { path: '/usr', kind: 'add' },
      { path: '/usr/local', kind: 'add' },
      { path: '/usr/local/bin', kind: 'add' },
      { path: '/usr/local/bin/tool', kind: 'add' },
      { path: '/var/cache/apt', kind: 'delete' },
      { path: '/was-dir', kind: 'modify' },
      { path: '/was-file', kind: 'modify' },
      { path: '/was-file/inside', kind: 'add' },
    ]);
  });

  it('sees a new hardlink on both names and a directory chmod, not a directory touch', async () => {
    const root = baseTree();
    const before = await snapshot(root);
    linkSync(`${root}/etc/passwd`, `${root}/etc/passwd-`);
    chmodSync(`${root}/bin`, 0o700);
    utimesSync(`${root}/var`, 1, 1);
    expect(await diff(root, before)).toEqual([
      { path: '/bin', kind: 'modify' },
      { path: '/etc/passwd', kind: 'modify' },
      { path: '/etc/passwd-', kind: 'add' },
    ]);
  });

  it('does not follow symlinks to directories', async () => {
    const root = baseTree();
    const outside = temp.make('outside');
    writeFileSync(`${outside}/file`, 'x');
    symlinkSync(outside, `${root}/escape`);
    const before = await snapshot(root);
    expect([...before.entries.keys()].some((path) => path.startsWith('escape/'))).toBe(false);
    writeFileSync(`${outside}/other`, 'y');
    expect(await diff(root, before)).toEqual([]);
  });

  it('refuses a root that is missing or a file, by name', async () => {
    const root = baseTree();
    await expect(snapshot(`${root}/nope`)).rejects.toThrow(`snapshot root "${root}/nope" does not exist`);
    await expect(snapshot(`${root}/etc/passwd`)).rejects.toThrow(`snapshot root "${root}/etc/passwd" is not a directory`);
  });

  it('takes a snapshot of 20,000 entries and diffs it well under a second', async () => {
    const root = temp.make('snapshot-perf', fastTempBase());
    for (let d = 0; d < 200; d++) {
      mkdirSync(`${root}/d${d}`);
      for (let f = 0; f < 99; f++) writeFileSync(`${root}/d${d}/f${f}`, 'x');
    }
    const started = process.hrtime.bigint();
    const before = await snapshot(root);
    const snapshotMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(before.entries.size).toBe(20_000);
    writeFileSync(`${root}/d7/f1`, 'changed');
    rmSync(`${root}/d9`, { recursive: true });
    const diffStarted = process.hrtime.bigint();
    const changes = await diff(root, before);
    const diffMs = Number(process.hrtime.bigint() - diffStarted) / 1e6;
    expect(changes).toEqual([
      { path: '/d7/f1', kind: 'modify' },
      { path: '/d9', kind: 'delete' },
    ]);
    console.log(`snapshot of 20000 entries: ${snapshotMs.toFixed(0)} ms; diff: ${diffMs.toFixed(0)} ms`);
    expect(snapshotMs).toBeLessThan(1000);
    expect(diffMs).toBeLessThan(1000);
  });
});
