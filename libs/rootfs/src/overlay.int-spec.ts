import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer } from './apply-layer';
import type { Change } from './changes';
import { RootfsError } from './errors';
import { mountOverlay, overlayChanges, overlaySupported, probeOverlay, unmount } from './overlay';
import { diff, snapshot } from './snapshot';
import { BufferSink, NET_RAW_CAPABILITY, TempDirs, capabilityOf, describeTree } from './testing/tree-fixtures';
import { writeLayer } from './write-layer';

const temp = new TempDirs();
const mounted = new Set<string>();

function isMounted(path: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === path);
}

afterAll(async () => {
  // Unmount before removing anything: rm -rf through a live overlay would write whiteouts, not free files.
  for (const path of mounted) if (isMounted(path)) await unmount(path);
  temp.cleanup();
});

async function layerBytes(root: string, changes: Change[], sourceDateEpoch?: number): Promise<{ bytes: Buffer; diffId: string }> {
  const sink = new BufferSink();
  const { diffId } = await writeLayer(root, changes, sink, sourceDateEpoch === undefined ? {} : { sourceDateEpoch });
  return { bytes: sink.bytes, diffId };
}

/** The base image: one layer, applied wherever a copy of it is needed. */
async function baseLayer(): Promise<Buffer> {
  const root = temp.make('overlay-base');
  const before = await snapshot(root);
  mkdirSync(`${root}/etc`);
  for (const name of ['passwd', 'hosts', 'motd', 'shells']) writeFileSync(`${root}/etc/${name}`, `${name}\n`);
  mkdirSync(`${root}/bin`);
  writeFileSync(`${root}/bin/busybox`, 'ELF');
  chmodSync(`${root}/bin/busybox`, 0o755);
  symlinkSync('busybox', `${root}/bin/sh`);
  mkdirSync(`${root}/var/cache/apt/archives`, { recursive: true });
  writeFileSync(`${root}/var/cache/apt/archives/a.deb`, 'deb');
  mkdirSync(`${root}/opt/app/lib`, { recursive: true });
  writeFileSync(`${root}/opt/app/lib/old.so`, 'old');
  writeFileSync(`${root}/was-file`, 'f');
  mkdirSync(`${root}/was-dir/sub`, { recursive: true });
  writeFileSync(`${root}/was-dir/sub/x`, 'x');
  return (await layerBytes(root, await diff(root, before))).bytes;
}

/** A RUN step's effects, done the same way in a plain directory and through an overlay. */
function runStep(root: string): void {
  writeFileSync(`${root}/etc/group`, 'root:x:0:\n');
  writeFileSync(`${root}/etc/hosts`, 'hosts with more\n');
  chmodSync(`${root}/etc/motd`, 0o600);
  chownSync(`${root}/bin/busybox`, 1000, 1000);
  unlinkSync(`${root}/bin/sh`);
  symlinkSync('/bin/busybox', `${root}/bin/sh`);
  unlinkSync(`${root}/etc/shells`);
  rmSync(`${root}/var/cache/apt/archives`, { recursive: true });
  rmSync(`${root}/opt`, { recursive: true });
  mkdirSync(`${root}/opt/app`, { recursive: true });
  writeFileSync(`${root}/opt/app/VERSION`, '2\n');
  unlinkSync(`${root}/was-file`);
  mkdirSync(`${root}/was-file`);
  writeFileSync(`${root}/was-file/inside`, 'in');
  rmSync(`${root}/was-dir`, { recursive: true });
  writeFileSync(`${root}/was-dir`, 'now a file');
  mkdirSync(`${root}/usr/local/bin`, { recursive: true });
  writeFileSync(`${root}/usr/local/bin/tool`, 'tool');
  execFileSync('setfattr', ['-n', 'security.capability', '-v', `0x${NET_RAW_CAPABILITY.toString('hex')}`, `${root}/usr/local/bin/tool`]);
  linkSync(`${root}/etc/passwd`, `${root}/etc/passwd-`);
  execFileSync('mkfifo', [`${root}/run-fifo`]);
  utimesSync(`${root}/var`, 1_000_000, 1_000_000); // a directory touched, nothing else: not a change
}

describe('overlay support', () => {
  it('is available here (root, overlayfs); the tests below need it', async () => {
    const probe = await probeOverlay();
    expect(probe, `overlay mounts fail on this machine, so the overlay tests cannot run: ${probe.supported ? '' : probe.reason}`).toEqual({ supported: true });
    expect(await overlaySupported()).toBe(true);
  });
});

describe('overlayChanges compared with snapshot/diff', () => {
  let plain: string;
  let lower: string;
  let upper: string;
  let merged: string;
  let base: Buffer;
  let plainChanges: Change[];
  let overlay: Change[];
  let mergedTree: ReturnType<typeof describeTree>;

  beforeAll(async () => {
    const probe = await probeOverlay();
    if (!probe.supported) throw new Error(`overlay mounts fail on this machine (${probe.reason}); overlayChanges cannot be tested`);
    base = await baseLayer();
    plain = temp.make('overlay-plain');
    const dir = temp.make('overlay-mount');
    [lower, upper, merged] = [`${dir}/lower`, `${dir}/upper`, `${dir}/merged`];
    mkdirSync(lower);
    await applyLayer(Readable.from([base]), plain);
    await applyLayer(Readable.from([base]), lower);

    const before = await snapshot(plain);
    runStep(plain);
    plainChanges = await diff(plain, before);

    await mountOverlay([lower], upper, `${dir}/work`, merged);
    mounted.add(merged);
    try {
      runStep(merged);
      mergedTree = describeTree(merged);
    } finally {
      await unmount(merged);
    }
    overlay = await overlayChanges(upper, [lower]);
  });

  it('finds the same changes as diff() for the same operations', () => {
    expect(overlay).toEqual(plainChanges);
    expect(plainChanges).toEqual([
      { path: '/bin/busybox', kind: 'modify' },
      { path: '/bin/sh', kind: 'modify' },
      { path: '/etc/group', kind: 'add' },
      { path: '/etc/hosts', kind: 'modify' },
      { path: '/etc/motd', kind: 'modify' },
      { path: '/etc/passwd', kind: 'modify' },
      { path: '/etc/passwd-', kind: 'add' },
      { path: '/etc/shells', kind: 'delete' },
      { path: '/opt', kind: 'delete' },
      { path: '/opt', kind: 'add' },
      { path: '/opt/app', kind: 'add' },
      { path: '/opt/app/VERSION', kind: 'add' },
      { path: '/run-fifo', kind: 'add' },
      { path: '/usr', kind: 'add' },
      { path: '/usr/local', kind: 'add' },
      { path: '/usr/local/bin', kind: 'add' },
      { path: '/usr/local/bin/tool', kind: 'add' },
      { path: '/var/cache/apt/archives', kind: 'delete' },
      { path: '/was-dir', kind: 'modify' },
      { path: '/was-file', kind: 'modify' },
      { path: '/was-file/inside', kind: 'add' },
    ]);
  });

  it('gives byte-identical layers from the upper dir and from the plain dir (mtimes clamped)', async () => {
    const epoch = 1_000_000_000;
    const fromUpper = await layerBytes(upper, overlay, epoch);
    const fromPlain = await layerBytes(plain, plainChanges, epoch);
    expect(fromUpper.diffId).toBe(fromPlain.diffId);
  });

  it('writes a layer from the upper dir that recreates the merged view on the base', async () => {
    const replay = temp.make('overlay-replay');
    await applyLayer(Readable.from([base]), replay);
    await applyLayer(Readable.from([(await layerBytes(upper, overlay)).bytes]), replay);
    expect(describeTree(replay)).toEqual(mergedTree);
    expect(capabilityOf(`${replay}/usr/local/bin/tool`)).toBe(NET_RAW_CAPABILITY.toString('hex'));
  });
});

describe('overlay mount helpers', () => {
  it('refuse paths that mount options cannot carry, and report umount failures', async () => {
    const dir = temp.make('overlay-bad');
    await expect(mountOverlay([`${dir}/a,b`], `${dir}/u`, `${dir}/w`, `${dir}/m`)).rejects.toThrow(/overlay lower directory 1 ".*a,b" contains ",", ":", "\\" or a newline/);
    await expect(mountOverlay([], `${dir}/u`, `${dir}/w`, `${dir}/m`)).rejects.toThrow('an overlay needs at least one lower directory');
    await expect(mountOverlay(['relative'], `${dir}/u`, `${dir}/w`, `${dir}/m`)).rejects.toThrow('overlay lower directory 1 "relative" must be an absolute path');
    const failure = unmount(dir);
    await expect(failure).rejects.toBeInstanceOf(RootfsError);
    await expect(failure).rejects.toThrow(`unmounting "${dir}" failed: umount: ${dir}: not mounted.`);
  });
});
