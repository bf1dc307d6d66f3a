import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';

/** Absolute path of `name` on PATH (or `name` itself if it is a path), or null. */
export function findExecutable(name: string): string | null {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; try the next PATH entry
    }
  }
  return null;
}

/** Signals every process in the group led by `pid` (a child spawned with `detached: true`). */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already gone
  }
}

/** Resolves true once the child has exited, false if `timeoutMs` passes first. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * SIGTERM the child, give it `graceMs` to exit, then SIGKILL its whole process group (our own
 * children only: the group exists because we spawned the child detached).
 */
export async function terminate(child: ChildProcess, graceMs: number): Promise<{ graceful: boolean }> {
  const running = child.exitCode === null && child.signalCode === null;
  if (running) child.kill('SIGTERM');
  const graceful = !running || (await waitForExit(child, graceMs));
  signalGroup(child.pid, 'SIGKILL'); // leftovers the child failed to reap
  if (!graceful) await waitForExit(child, 5_000);
  return { graceful };
}

/** Keeps the last `limit` characters of a stream of text (child process logs). */
export class OutputTail {
  private text = '';

  constructor(private readonly limit = 256 * 1024) {}

  append(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.limit * 2) this.text = this.text.slice(-this.limit);
  }

  toString(): string {
    return this.text.length > this.limit ? this.text.slice(-this.limit) : this.text;
  }
}

// Waits for EOF on stdin (our process is gone, however it died), then kills the group and
// removes the paths, unmounting anything below them first. $1 is the group or "-", then paths.
const TETHER_SCRIPT = `
read _
group="$1"; shift
if [ "$group" != "-" ]; then
  kill -TERM "-$group" 2>/dev/null && sleep 3
  kill -KILL "-$group" 2>/dev/null
fi
for dir in "$@"; do
  awk '{print $5}' /proc/self/mountinfo | grep -F -- "$dir" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf -- "$dir"
done
`;

/**
 * Cleans up after this process even when it is killed without running any handler (vitest ends
 * workers with SIGTERM; a crash or SIGKILL skips 'exit' hooks): a detached shell holds a pipe
 * from us and, when the pipe closes, kills `group` and removes `paths`. Call the returned
 * function once you have cleaned up yourself; it dismisses the shell.
 */
export function tether(options: { group?: number; paths?: string[] }): () => void {
  const shell = spawn('/bin/sh', ['-c', TETHER_SCRIPT, 'cargohold-tether', options.group === undefined ? '-' : String(options.group), ...(options.paths ?? [])], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  shell.on('error', () => undefined); // without /bin/sh there is simply no safety net
  shell.unref();
  (shell.stdin as unknown as Socket | null)?.unref();
  shell.stdin?.on('error', () => undefined);
  return () => {
    if (shell.exitCode === null && shell.signalCode === null) shell.kill('SIGKILL');
  };
}
