import { execFile } from 'node:child_process';
import type { BigIntStats, Stats } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import type { Change } from './changes';
import { compareChanges } from './changes';
import { RootfsError, errnoCode } from './errors';
import { fileStateOf } from './file-state';
import { compareUtf8, parentOf } from './paths';
import { resolveRoot } from './snapshot';
import { walkTree } from './walk';
import { readXattrsUnder } from './xattr';

const execFileAsync = promisify(execFile);

/** overlayfs marks a directory that hides the lower layers' content with this xattr ("y"). */
const OPAQUE_XATTR = 'trusted.overlay.opaque';

/**
 * Options that keep the upper directory a complete record of the changes: without them a renamed
 * directory would be a redirect (its content left in the lower dir), and a chmod or chown could
 * copy up metadata only (no content in the upper dir).
 */
const SELF_CONTAINED_UPPER = 'redirect_dir=off,index=off,metacopy=off';

function checkMountPath(path: string, what: string): void {
  if (!path.startsWith('/')) throw new RootfsError(`overlay ${what} "${path}" must be an absolute path`);
  // The kernel splits the option string on "," and lowerdir on ":"; escaping them is fragile.
  if (/[,:\\\n]/.test(path)) throw new RootfsError(`overlay ${what} "${path}" contains ",", ":", "\\" or a newline, which mount options cannot carry`);
}

function commandError(err: unknown): string {
  const stderr = typeof err === 'object' && err !== null && 'stderr' in err ? String(err.stderr).trim() : '';
  return stderr || (err as Error).message;
}

/**
 * Mounts an overlay at `merged`: `lowers` read-only (the first one on top), changes in `upper`,
 * `work` as overlayfs's scratch directory (empty, on the same filesystem as `upper`). upper, work
 * and merged are created if missing. Needs root (CAP_SYS_ADMIN). Mounted with
 * redirect_dir=off,index=off,metacopy=off so that `upper` alone holds every changed file in full.
 */
export async function mountOverlay(lowers: readonly string[], upper: string, work: string, merged: string): Promise<void> {
  if (lowers.length === 0) throw new RootfsError('an overlay needs at least one lower directory');
  lowers.forEach((lower, i) => checkMountPath(lower, `lower directory ${i + 1}`));
  checkMountPath(upper, 'upper directory');
  checkMountPath(work, 'work directory');
  checkMountPath(merged, 'mount point');
  for (const dir of [upper, work, merged]) await mkdir(dir, { recursive: true });
  const options = `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},${SELF_CONTAINED_UPPER}`;
  try {
    await execFileAsync('mount', ['-t', 'overlay', 'overlay', '-o', options, merged]);
  } catch (err) {
    throw new RootfsError(`mounting an overlay at "${merged}" failed: ${commandError(err)}`);
  }
}

/** Unmounts what is mounted at `merged` (an overlay from mountOverlay). */
export async function unmount(merged: string): Promise<void> {
  try {
    await execFileAsync('umount', [merged]);
  } catch (err) {
    throw new RootfsError(`unmounting "${merged}" failed: ${commandError(err)}`);
  }
}

export type OverlayProbe = { supported: true } | { supported: false; reason: string };

let probe: Promise<OverlayProbe> | null = null;

async function probeOnce(): Promise<OverlayProbe> {
  const dir = await mkdtemp(`${tmpdir()}/rootfs-overlay-probe-`);
  let mounted = false;
  try {
    await mkdir(`${dir}/lower`);
    await writeFile(`${dir}/lower/file`, 'lower');
    await mountOverlay([`${dir}/lower`], `${dir}/upper`, `${dir}/work`, `${dir}/merged`);
    mounted = true;
    await writeFile(`${dir}/merged/file`, 'upper');
    await unmount(`${dir}/merged`);
    mounted = false;
    const lower = await readFile(`${dir}/lower/file`, 'utf8');
    const upper = await readFile(`${dir}/upper/file`, 'utf8');
    if (lower !== 'lower' || upper !== 'upper') return { supported: false, reason: 'a write through the overlay did not land in the upper directory' };
    return { supported: true };
  } catch (err) {
    return { supported: false, reason: (err as Error).message };
  } finally {
    if (mounted) await unmount(`${dir}/merged`).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether overlay mounts work here, and why not (tried once per process, in a temp dir). */
export function probeOverlay(): Promise<OverlayProbe> {
  probe ??= probeOnce();
  return probe;
}

export async function overlaySupported(): Promise<boolean> {
  return (await probeOverlay()).supported;
}

/** overlayfs's whiteout: a character device numbered 0/0. */
function isWhiteout(stats: BigIntStats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0n;
}

/** Looks paths up in plain lower directories, first one on top, never through a symlink. */
class LowerView {
  private readonly dirs = new Map<string, boolean>();

  constructor(private readonly lowers: readonly string[]) {}

  async find(path: string): Promise<Stats | null> {
    for (const lower of this.lowers) {
      if (!(await this.isDir(lower, parentOf(path)))) continue;
      const stats = await lstatOrNull(`${lower}/${path}`);
      if (stats) return stats;
    }
    return null;
  }

  private async isDir(lower: string, path: string): Promise<boolean> {
    if (path === '') return true;
    const key = `${lower}\0${path}`;
    const known = this.dirs.get(key);
    if (known !== undefined) return known;
    const result = (await this.isDir(lower, parentOf(path))) && ((await lstatOrNull(`${lower}/${path}`))?.isDirectory() ?? false);
    this.dirs.set(key, result);
    return result;
  }
}

async function lstatOrNull(abs: string): Promise<Stats | null> {
  try {
    return await lstat(abs);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}

async function opaqueDirs(upper: string): Promise<Set<string>> {
  const dump = await readXattrsUnder(upper, `^${OPAQUE_XATTR.replace(/\./g, '\\.')}$`, 'find opaque directories in an overlay upper directory');
  const out = new Set<string>();
  for (const [abs, attrs] of dump) {
    if (attrs.get(OPAQUE_XATTR)?.toString('latin1') === 'y' && abs.startsWith(`${upper}/`)) out.add(abs.slice(upper.length + 1));
  }
  return out;
}

/**
 * The changes an overlay upper directory records over `lowers` (the same plain directories, no
 * whiteouts in them, that were mounted as lowerdir, first on top), in diff()'s terms so that the
 * two agree for the same operations:
 * - a whiteout (0/0 character device) is a delete, if a lower holds the path;
 * - an opaque directory (xattr trusted.overlay.opaque=y, read with one `getfattr -R`) over a lower
 *   directory is a delete plus an add; over a lower non-directory it is a modify (type change);
 * - anything else is an add when no lower holds it, else a modify, except a directory whose type,
 *   mode and owner match the lower one (overlayfs copied it up only for a child's sake);
 * - everything under an added, opaque or type-changed directory is an add.
 * One difference remains: a file overlayfs copied up without changing it (opened for writing,
 * nothing written) is a modify here and nothing for diff().
 */
export async function overlayChanges(upper: string, lowers: readonly string[]): Promise<Change[]> {
  const root = await resolveRoot(upper, 'overlay upper directory');
  const realLowers = await Promise.all(lowers.map((lower) => resolveRoot(lower, 'overlay lower directory')));
  const entries = new Map<string, BigIntStats>();
  await walkTree(root, (entry) => entries.set(entry.path, entry.stats));
  const hasDirs = [...entries.values()].some((stats) => stats.isDirectory());
  const opaque = hasDirs ? await opaqueDirs(root) : new Set<string>();
  const view = new LowerView(realLowers);

  const changes: Change[] = [];
  const fresh = new Set<string>();
  for (const path of [...entries.keys()].sort(compareUtf8)) {
    const stats = entries.get(path) as BigIntStats;
    const at = `/${path}`;
    const isDir = stats.isDirectory();
    if (fresh.has(parentOf(path))) {
      if (isWhiteout(stats)) continue;
      changes.push({ path: at, kind: 'add' });
      if (isDir) fresh.add(path);
      continue;
    }
    const lower = await view.find(path);
    if (isWhiteout(stats)) {
      if (lower) changes.push({ path: at, kind: 'delete' });
      continue;
    }
    if (!lower) {
      changes.push({ path: at, kind: 'add' });
      if (isDir) fresh.add(path);
    } else if (isDir && !lower.isDirectory()) {
      changes.push({ path: at, kind: 'modify' });
      fresh.add(path);
    } else if (isDir && opaque.has(path)) {
      changes.push({ path: at, kind: 'delete' }, { path: at, kind: 'add' });
      fresh.add(path);
    } else if (isDir) {
      const state = fileStateOf(stats);
      if (state.mode !== (lower.mode & 0o7777) || state.uid !== lower.uid || state.gid !== lower.gid) changes.push({ path: at, kind: 'modify' });
    } else {
      changes.push({ path: at, kind: 'modify' });
    }
  }
  return changes.sort(compareChanges);
}
