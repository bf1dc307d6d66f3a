import { execFile, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SandboxError } from './errors';
import { HOST_PATH } from './host-tools';
import type { HostTools } from './host-tools';

const run = promisify(execFile);

/** This process's private (0700) directory: runc's state root, the run bundles, the output FIFOs. */
export interface Workspace {
  dir: string;
  /** `runc --root`: one state directory per live container. */
  state: string;
}

/**
 * Deletes every container in a workspace's state root (killing what still runs, removing its
 * cgroup), then the workspace. With `watch` it first waits for EOF on stdin, which comes when
 * the Node process that holds the other end is gone, however it died (SIGKILL included); it
 * ignores the signals a terminal or a process-group kill would send along.
 * Arguments: runc, rm, workspace directory, [watch].
 */
const CLEANUP = [
  'if [ "$4" = watch ]; then',
  "  trap '' HUP INT QUIT TERM PIPE",
  '  while read -r _; do :; done',
  'fi',
  'for id in $("$1" --root "$3/runc" list -q 2>/dev/null); do',
  '  "$1" --root "$3/runc" delete --force "$id" >/dev/null 2>&1',
  'done',
  'exec "$2" -rf -- "$3"',
].join('\n');

// Per-run files are tiny and short-lived: on tmpfs they cost a fraction of a disk file.
function baseDir(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // no usable /dev/shm
  }
  return os.tmpdir();
}

/**
 * `cargohold-sandbox-ns<pid namespace>-`: a PID says whether its owner is alive only inside the PID
 * namespace it belongs to (containers may share /dev/shm).
 */
function prefix(): string {
  let ns = 'host';
  try {
    ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? ns;
  } catch {
    // no /proc: one namespace as far as we can tell
  }
  return `cargohold-sandbox-ns${ns}-`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Normally a workspace's watchdog removes it; if the watchdog was killed too, a successor does.
function removeAbandoned(tools: HostTools, base: string, mine: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return; // cannot list: nothing to clean
  }
  for (const name of names) {
    const pid = name.startsWith(mine) ? Number(/^(\d+)-/.exec(name.slice(mine.length))?.[1]) : 0;
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    // Another user's leftovers fail quietly: not ours to remove.
    spawnSync(tools.sh, ['-c', CLEANUP, 'cargohold-sandbox-cleanup', tools.runc, tools.rm, path.join(base, name)], {
      stdio: 'ignore',
      env: { PATH: HOST_PATH, LC_ALL: 'C' },
    });
  }
}

/** Starts the watchdog of `dir`; resolves once it runs. This process keeps its stdin open until it exits. */
async function startWatchdog(tools: HostTools, dir: string): Promise<void> {
  const watchdog = spawn(tools.sh, ['-c', CLEANUP, 'cargohold-sandbox-watchdog', tools.runc, tools.rm, dir, 'watch'], {
    stdio: ['pipe', 'ignore', 'ignore'],
    // Its own session: a Ctrl-C or kill of the builder's process group leaves it to clean up.
    detached: true,
    env: { PATH: HOST_PATH, LC_ALL: 'C' },
  });
  await new Promise<void>((resolve, reject) => {
    watchdog.once('spawn', resolve);
    watchdog.once('error', reject);
  });
  watchdog.stdin?.on('error', () => undefined);
  // Neither the watchdog nor its pipe may keep this process alive.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?(): void } | null)?.unref?.();
}

let opened: Promise<Workspace> | undefined;

/** This process's workspace, created (with its watchdog) on first use. */
export function openWorkspace(tools: HostTools): Promise<Workspace> {
  opened ??= (async () => {
    const base = baseDir();
    const mine = prefix();
    removeAbandoned(tools, base, mine);
    const dir = mkdtempSync(path.join(base, `${mine}${process.pid}-`));
    const state = path.join(dir, 'runc');
    mkdirSync(state, { mode: 0o700 });
    try {
      await startWatchdog(tools, dir);
    } catch (err) {
      spawnSync(tools.rm, ['-rf', '--', dir]);
      throw new SandboxError('UNAVAILABLE', `cannot start the sandbox watchdog (${tools.sh}): ${(err as Error).message}`, { cause: err });
    }
    return { dir, state };
  })();
  opened.catch(() => (opened = undefined));
  return opened;
}

const free: [string, string][] = [];
let fifoCount = 0;
const FIFOS_PER_BATCH = 8;

/**
 * A stdout/stderr pair of named pipes used by one run at a time. Reused because creating them
 * costs a `mkfifo` process; a FIFO whose every end is closed starts empty on the next open. Mode
 * 0666 so a non-root USER can reopen /dev/stdout (runc also chowns them to the USER); the
 * directory is private, so nobody else can open them by path.
 */
export async function takeFifos(dir: string, mkfifo: string): Promise<[string, string]> {
  if (free.length === 0) {
    const names = Array.from({ length: FIFOS_PER_BATCH * 2 }, () => path.join(dir, `fifo-${fifoCount++}`));
    await run(mkfifo, ['-m', '666', '--', ...names]);
    for (let i = 0; i < names.length; i += 2) free.push([names[i], names[i + 1]]);
  }
  return free.pop() as [string, string];
}

/** Back to the pool: only once every end of both FIFOs has been closed. */
export function releaseFifos(pair: [string, string]): void {
  free.push(pair);
}

/** For a pair whose ends may still be open somewhere: never hand it out again. */
export async function discardFifos(pair: [string, string]): Promise<void> {
  await Promise.all(pair.map((name) => unlink(name).catch(() => undefined)));
}
