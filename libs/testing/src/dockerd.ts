import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable, terminate, tether } from './child-process.util';

export interface DockerdHandle {
  /** `unix:///…/docker.sock`, for DOCKER_HOST / dockerCli(). */
  host: string;
  socketPath: string;
  dataRoot: string;
  /** The tail of dockerd's own log. */
  logs(): string;
  /** Releases this handle; the daemon stops (and its directories go) when the last handle is released. */
  stop(): Promise<void>;
}

export interface StartDockerdOptions {
  /** Give up (and return null) after this long; default 60 s. */
  startTimeoutMs?: number;
}

interface Daemon {
  child: ChildProcess;
  base: string;
  socketPath: string;
  dataRoot: string;
  logFile: string;
  users: number;
  dismissTether: () => void;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;
const execFileAsync = promisify(execFile);

let shared: Promise<Daemon | null> | undefined;

/**
 * Why no dockerd can run here, or null if it can be tried. Synchronous, so specs can use it in
 * `describe.skipIf` before any hook runs.
 */
export function dockerdUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `dockerd needs Linux (this is ${process.platform})`;
  if (!findExecutable('dockerd')) return 'dockerd is not installed (apt-get install -y docker.io)';
  if (process.getuid?.() !== 0) return `dockerd needs root; this process runs as uid ${process.getuid?.()}`;
  return null;
}

/**
 * Starts a throwaway real dockerd (vfs storage, no bridge, no iptables, its own data/exec root
 * and socket under a temp dir — never the machine's default daemon) and waits until /_ping
 * answers. Returns null, after logging why, when dockerd is absent or does not come up in time.
 * One daemon per test process: concurrent callers share it, and it stops with the last stop().
 */
export async function startDockerd(options: StartDockerdOptions = {}): Promise<DockerdHandle | null> {
  shared ??= launch(options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  const daemon = await shared;
  if (!daemon) return null;
  daemon.users += 1;
  let released = false;
  return {
    host: `unix://${daemon.socketPath}`,
    socketPath: daemon.socketPath,
    dataRoot: daemon.dataRoot,
    logs: () => readTail(daemon.logFile),
    async stop() {
      if (released) return;
      released = true;
      daemon.users -= 1;
      if (daemon.users > 0) return;
      shared = undefined;
      await shutdown(daemon);
    },
  };
}

async function launch(startTimeoutMs: number): Promise<Daemon | null> {
  const unavailable = dockerdUnavailableReason();
  if (unavailable) {
    console.warn(`[testing] no dockerd: ${unavailable}`);
    return null;
  }
  // Unix socket paths are limited to 108 bytes: stay short whatever TMPDIR says.
  const tmp = os.tmpdir().length > 40 ? '/tmp' : os.tmpdir();
  const base = mkdtempSync(path.join(tmp, 'cargohold-dockerd-'));
  const socketPath = path.join(base, 'docker.sock');
  const dataRoot = path.join(base, 'data');
  const logFile = path.join(base, 'dockerd.log');
  const configFile = path.join(base, 'daemon.json');
  writeFileSync(configFile, '{}\n'); // ignore /etc/docker/daemon.json
  const args = [
    '--config-file', configFile,
    '--storage-driver', 'vfs',
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--data-root', dataRoot,
    '--exec-root', path.join(base, 'exec'),
    '--pidfile', path.join(base, 'dockerd.pid'),
    '-H', `unix://${socketPath}`,
  ];
  const logFd = openSync(logFile, 'a');
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DOCKER_')));
  // Detached: dockerd leads its own process group (its containerd dies with it: PDEATHSIG).
  const child = spawn('dockerd', args, { detached: true, stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  child.on('error', () => undefined); // reported through the exit/timeout paths below
  // If this process dies without stop(), the daemon and its directories must not outlive it.
  const dismissTether = tether({ group: child.pid, paths: [base] });
  const daemon: Daemon = { child, base, socketPath, dataRoot, logFile, users: 0, dismissTether };

  const failure = await waitForPing(daemon, startTimeoutMs);
  if (failure === null) return daemon;
  console.warn(`[testing] no dockerd: ${failure}\n--- dockerd log (tail) ---\n${readTail(logFile, 4000)}`);
  await shutdown(daemon);
  return null;
}

/** Null once /_ping answers OK, otherwise why it never did. */
async function waitForPing(daemon: Daemon, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let spawnError: Error | undefined;
  daemon.child.once('error', (error) => (spawnError = error));
  while (Date.now() < deadline) {
    if (spawnError) return `could not spawn dockerd: ${spawnError.message}`;
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) {
      return `dockerd exited (${daemon.child.exitCode ?? daemon.child.signalCode}) before answering /_ping`;
    }
    if (existsSync(daemon.socketPath) && (await ping(daemon.socketPath))) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return `dockerd did not answer /_ping within ${timeoutMs} ms`;
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', timeout: 2_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (text: string) => (body += text));
      response.on('end', () => resolve(response.statusCode === 200 && body === 'OK'));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

async function shutdown(daemon: Daemon): Promise<void> {
  await terminate(daemon.child, STOP_GRACE_MS);
  // A killed dockerd leaves its data-root bind mount (and container mounts) behind.
  for (const mountPoint of mountsUnder(daemon.base)) {
    await execFileAsync('umount', ['-l', mountPoint]).catch(() => undefined);
  }
  await rm(daemon.base, { recursive: true, force: true, maxRetries: 3 });
  daemon.dismissTether();
}

/** Mount points at or below `base`, deepest first. */
function mountsUnder(base: string): string[] {
  let table: string;
  try {
    table = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return table
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => Boolean(field))
    .map((field) => field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((mountPoint) => mountPoint === base || mountPoint.startsWith(`${base}/`))
    .sort((a, b) => b.length - a.length);
}

function readTail(file: string, limit = 64 * 1024): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.length > limit ? text.slice(-limit) : text;
  } catch {
    return '';
  }
}
