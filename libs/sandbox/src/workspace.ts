import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { chmod, mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Symlinks every runc container has in /dev. */
const DEV_LINKS: [string, string][] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
  ['ptmx', 'pts/ptmx'],
];

/** Host device nodes bind-mounted into the sandbox's /dev, as Docker's default devices. */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

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

let dir: string | undefined;

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

// A process killed by a signal never runs its 'exit' handler: its successors clean up after it.
function removeAbandoned(base: string, mine: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return; // cannot list: nothing to clean
  }
  for (const name of names) {
    const pid = name.startsWith(mine) ? Number(/^(\d+)-/.exec(name.slice(mine.length))?.[1]) : 0;
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    try {
      rmSync(path.join(base, name), { recursive: true, force: true });
    } catch {
      // another user's leftovers: not ours to remove
    }
  }
}

/** This process's private (0700) directory for sandbox files, removed when the process exits. */
export function workspace(): string {
  if (dir) return dir;
  const base = baseDir();
  const mine = prefix();
  removeAbandoned(base, mine);
  const created = mkdtempSync(path.join(base, `${mine}${process.pid}-`));
  process.on('exit', () => rmSync(created, { recursive: true, force: true }));
  dir = created;
  return created;
}

function isCharDevice(p: string): boolean {
  try {
    return statSync(p).isCharacterDevice();
  } catch {
    return false;
  }
}

/** The host devices this machine has (a container host may lack /dev/tty). */
export const hostDevices = (): string[] => DEVICES.filter((name) => isCharDevice(`/dev/${name}`));

let template: Promise<string> | undefined;

/** The /dev skeleton copied into each sandbox's tmpfs /dev: device mount points, dirs, links. */
export function devTemplate(): Promise<string> {
  template ??= (async () => {
    const target = path.join(workspace(), 'dev');
    await rm(target, { recursive: true, force: true });
    await mkdir(target);
    for (const name of hostDevices()) await writeFile(path.join(target, name), '', { mode: 0o666 });
    for (const name of ['pts', 'shm', 'mqueue']) await mkdir(path.join(target, name));
    const links = existsSync('/proc/kcore') ? [...DEV_LINKS, ['core', '/proc/kcore'] as [string, string]] : DEV_LINKS;
    for (const [name, linkTarget] of links) await symlink(linkTarget, path.join(target, name));
    // `cp -a` gives the sandbox's /dev this directory's mode: it must not follow our umask.
    await chmod(target, 0o755);
    return target;
  })();
  template.catch(() => (template = undefined));
  return template;
}

const free: [string, string][] = [];
let fifoCount = 0;
const FIFOS_PER_BATCH = 8;

/**
 * A stdout/stderr pair of named pipes used by one run at a time. Reused because creating them
 * costs a `mkfifo` process; a FIFO whose every end is closed starts empty on the next open. Mode
 * 0666 so a non-root USER can reopen /dev/stdout (runc chowns its pipes for the same reason); the
 * directory is private, so nobody else can open them by path.
 */
export async function takeFifos(mkfifo: string): Promise<[string, string]> {
  if (free.length === 0) {
    const names = Array.from({ length: FIFOS_PER_BATCH * 2 }, () => path.join(workspace(), `fifo-${fifoCount++}`));
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
