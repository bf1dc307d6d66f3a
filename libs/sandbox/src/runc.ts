import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { SandboxError } from './errors';
import { HOST_PATH } from './host-tools';
import type { HostTools } from './host-tools';

const run = promisify(execFile);

// runc kill retries until the container exists (runc run is still creating it) or runc is gone.
const KILL_RETRY_MS = 10;
// After this long without runc run exiting, it is killed itself and the container deleted.
const KILL_DEADLINE_MS = 5_000;

/** One container: its id, its bundle directory and runc's state root. */
export interface Container {
  tools: HostTools;
  id: string;
  bundle: string;
  state: string;
  rootless: boolean;
}

const logFile = (c: Container): string => path.join(c.bundle, 'runc.log');
/** Written by `runc run` once the command has been started: before it, stderr is runc's own. */
export const pidFile = (c: Container): string => path.join(c.bundle, 'runc.pid');

function globalArgs(c: Container): string[] {
  return ['--root', c.state, ...(c.rootless ? ['--rootless', 'true'] : [])];
}

/**
 * `runc run` in the foreground: it passes its stdio to the command and exits with the command's
 * status (128 + signal number when a signal ended it). Under `setpriv --pdeathsig KILL` it dies
 * with this process instead of going on to start the command.
 */
export function spawnRun(c: Container, stdout: number, stderr: number): ChildProcess {
  const runc = [c.tools.runc, ...globalArgs(c), '--log', logFile(c), '--log-format', 'json'];
  return spawn(c.tools.setpriv, ['--pdeathsig', 'KILL', '--', ...runc, 'run', '--bundle', c.bundle, '--pid-file', pidFile(c), c.id], {
    stdio: ['ignore', stdout, stderr],
    env: { PATH: HOST_PATH, LC_ALL: 'C' },
  });
}

/**
 * SIGKILLs the container's first process, which takes every other process of its PID namespace
 * with it. Retries while runc run is still creating the container; if runc run outlives the
 * deadline, it is killed instead (deleteLeftover then removes the container).
 */
export async function killContainer(c: Container, runc: ChildProcess, exited: () => boolean): Promise<void> {
  const deadline = performance.now() + KILL_DEADLINE_MS;
  while (!exited()) {
    try {
      await run(c.tools.runc, [...globalArgs(c), 'kill', c.id, 'KILL']);
      return;
    } catch {
      // not created yet, or already stopped
    }
    if (performance.now() > deadline) {
      runc.kill('SIGKILL');
      return;
    }
    await delay(KILL_RETRY_MS);
  }
}

/** runc run removes its container on exit; when it could not (it was killed), this does. */
export async function deleteLeftover(c: Container): Promise<void> {
  if (!existsSync(path.join(c.state, c.id))) return;
  try {
    await run(c.tools.runc, [...globalArgs(c), 'delete', '--force', c.id]);
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new SandboxError('CLEANUP', `could not delete container ${c.id}: ${stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

/** The last error runc logged (runc prints it to the command's stderr as well: that copy is dropped). */
export async function runcError(c: Container): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(logFile(c), 'utf8');
  } catch {
    return undefined;
  }
  let message: string | undefined;
  for (const line of text.split('\n')) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) message = entry.msg;
    } catch {
      // a partial or non-JSON line
    }
  }
  return message;
}
