import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import type { BigIntStats, Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { SandboxError } from './errors';
import { resolveInRoot } from './scoped-path';

const run = promisify(execFile);

type Kind = 'file' | 'dir';

interface Created {
  hostPath: string;
  parent: string;
  kind: Kind;
  dev: bigint;
  ino: bigint;
}

interface ParentTimes {
  before: bigint;
  afterSetup?: bigint;
}

function describe(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a special file';
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function mtimeOrNull(p: string): Promise<bigint | null> {
  try {
    return (await stat(p, { bigint: true })).mtimeNs;
  } catch {
    return null;
  }
}

/** `@seconds.nanoseconds`, which GNU touch applies exactly (Node's utimes rounds to ~1 µs). */
function touchDate(ns: bigint): string {
  return `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * Records every file and directory the sandbox has to add to the root filesystem as a mount
 * point (/proc, /dev, /etc/hosts, ... when the image lacks them), so that they can be removed
 * after the run and the layer diff shows only what the command did. The directories they were
 * created in get their mtime back when the command itself did not add or remove anything there
 * (ctime cannot be restored).
 */
export class RootfsLedger {
  private readonly created: Created[] = [];
  private readonly parents = new Map<string, ParentTimes>();

  constructor(
    private readonly root: string,
    private readonly touch: string,
  ) {}

  /** The host path of `inRootPath`, created as `kind` (with missing parents) when absent. */
  async ensure(inRootPath: string, kind: Kind): Promise<string> {
    const target = await resolveInRoot(this.root, inRootPath);
    const parts = path.relative(this.root, target).split(path.sep).filter(Boolean);
    let current = this.root;
    for (const [i, part] of parts.entries()) {
      const next = path.join(current, part);
      const wanted: Kind = i === parts.length - 1 ? kind : 'dir';
      const existing = await lstatOrNull(next);
      if (!existing) await this.create(current, next, wanted);
      else if (wanted === 'dir' ? !existing.isDirectory() : !existing.isFile()) {
        const shown = '/' + path.relative(this.root, next);
        throw new SandboxError('SETUP', `cannot mount ${inRootPath} in the root filesystem: ${shown} is ${describe(existing)}, not ${wanted === 'dir' ? 'a directory' : 'a regular file'}`);
      }
      current = next;
    }
    return target;
  }

  private async create(parent: string, hostPath: string, kind: Kind): Promise<void> {
    if (!this.parents.has(parent)) {
      this.parents.set(parent, { before: (await stat(parent, { bigint: true })).mtimeNs });
    }
    if (kind === 'dir') await mkdir(hostPath);
    else await writeFile(hostPath, '', { flag: 'wx' });
    // Explicit modes: they must not depend on this process's umask if the entry has to stay.
    await chmod(hostPath, kind === 'dir' ? 0o755 : 0o644);
    const st: BigIntStats = await lstat(hostPath, { bigint: true });
    this.created.push({ hostPath, parent, kind, dev: st.dev, ino: st.ino });
  }

  /** Call once everything is created: later mtime changes of the parents are the command's. */
  async seal(): Promise<void> {
    for (const [parent, times] of this.parents) times.afterSetup = (await stat(parent, { bigint: true })).mtimeNs;
  }

  /** Removes what `ensure` created (unless the command put content into it) and restores mtimes. */
  async restore(): Promise<void> {
    const afterRun = new Map<string, bigint | null>();
    for (const parent of this.parents.keys()) afterRun.set(parent, await mtimeOrNull(parent));
    const kept = new Set<string>();
    for (const entry of [...this.created].reverse()) {
      if (!(await this.remove(entry))) kept.add(entry.parent);
    }
    const restorable = [...this.parents].filter(([parent, times]) => {
      const untouched = times.afterSetup !== undefined && afterRun.get(parent) === times.afterSetup;
      return untouched && !kept.has(parent) && times.before >= 0n;
    });
    await Promise.all(restorable.map(([parent, times]) => this.setMtime(parent, times.before)));
  }

  private async setMtime(dir: string, ns: bigint): Promise<void> {
    try {
      await run(this.touch, ['-c', '-m', '-d', touchDate(ns), '--', dir]);
    } catch (err) {
      throw new SandboxError('CLEANUP', `could not restore the modification time of ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async remove(entry: Created): Promise<boolean> {
    let st: BigIntStats;
    try {
      st = await lstat(entry.hostPath, { bigint: true });
    } catch {
      return false; // moved or removed by the command: whatever it left is its change
    }
    if (st.dev !== entry.dev || st.ino !== entry.ino) return false;
    try {
      if (entry.kind === 'dir') await rmdir(entry.hostPath);
      else if (st.isFile() && st.size === 0n) await unlink(entry.hostPath);
      else return false;
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY') return false; // the command wrote into it
      throw new SandboxError('CLEANUP', `could not remove ${entry.hostPath} created for the sandbox: ${(err as Error).message}`, { cause: err });
    }
  }
}
