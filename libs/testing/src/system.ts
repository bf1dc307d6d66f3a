import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OutputTail, terminate, tether } from './child-process.util';
import { freePort } from './free-port.util';
import { repoRoot } from './repo-root.util';

export interface StartSystemOptions {
  /** Extra environment for the launcher; wins over the defaults below. */
  env?: Record<string, string>;
  /** Launcher to run instead of dist/apps/embedded/src/main.js (used by the harness self-test). */
  entry?: string;
  /** How long to wait for the "cargohold is up" line; default 60 s. */
  startTimeoutMs?: number;
}

export interface SystemHandle {
  /** `http://127.0.0.1:<port>` as announced by the launcher. */
  url: string;
  /** `tcp://127.0.0.1:<port>`, for DOCKER_HOST / dockerCli(). */
  dockerHost: string;
  dataDir: string;
  /** The cargohold variables this system was started with (not the inherited environment). */
  env: Record<string, string>;
  /** Interleaved stdout and stderr of the launcher and everything it spawned (tail). */
  logs(): string;
  /** SIGTERM, wait for a clean exit (SIGKILL after 20 s), remove dataDir. Idempotent. */
  stop(): Promise<void>;
}

const READY_LINE = /cargohold is up: (https?:\/\/\S+)/;
const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;
// Inherited settings that would point a throwaway system at shared services.
const INHERITED_BLOCKLIST = /^(CARGOHOLD_|REDIS_URL$|DATABASE_URL$)/;

/**
 * Runs the real embedded launcher exactly as `npm start` does after building
 * (`node dist/apps/embedded/src/main.js`): its own redis-server, SQLite and filesystem blobs in a
 * temp data dir, on a free port. Resolves once it prints `cargohold is up: <url>`.
 */
export async function startSystem(options: StartSystemOptions = {}): Promise<SystemHandle> {
  const root = repoRoot();
  const entry = options.entry ?? path.join(root, 'dist', 'apps', 'embedded', 'src', 'main.js');
  if (!existsSync(entry)) {
    throw new Error(`${path.relative(root, entry)} is missing: run node scripts/build.mjs first (the e2e tests run the built launcher, as npm start does)`);
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cargohold-system-'));
  const env: Record<string, string> = {
    CARGOHOLD_HOST: '127.0.0.1',
    CARGOHOLD_PORT: String(await freePort()),
    CARGOHOLD_DATA_DIR: dataDir,
    CARGOHOLD_LOG_LEVEL: 'warn',
    ...options.env,
  };
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !INHERITED_BLOCKLIST.test(key)));
  const logs = new OutputTail(1024 * 1024);
  // Detached: the launcher and its services form one process group we can always reap.
  const child = spawn(process.execPath, [entry], { cwd: root, env: { ...inherited, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // If this process dies without stop(), the launcher (which reaps its services) and the data go too.
  const dismissTether = tether({ group: child.pid, paths: [dataDir] });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const { graceful } = await terminate(child, STOP_GRACE_MS);
      if (!graceful) logs.append(`\n[testing] the launcher ignored SIGTERM for ${STOP_GRACE_MS} ms and was killed\n`);
      await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
      dismissTether();
    })();
    return stopping;
  };

  try {
    const url = await waitForReady(child, logs, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    const { hostname, port } = new URL(url);
    return { url, dockerHost: `tcp://${hostname}:${port}`, dataDir, env, logs: () => logs.toString(), stop };
  } catch (error) {
    await stop();
    throw error instanceof Error ? new Error(`${error.message}\n--- cargohold logs ---\n${logs.toString()}`) : error;
  }
}

function waitForReady(child: ReturnType<typeof spawn>, logs: OutputTail, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let pending = '';
    let settled = false;
    const onText = (text: string): void => {
      logs.append(text);
      if (settled) return;
      pending = (pending + text).slice(-4096);
      const match = READY_LINE.exec(pending);
      if (match) finish(() => resolve(match[1]));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      finish(() => reject(new Error(`cargohold exited (${code ?? signal}) before printing "cargohold is up"`)));
    const onError = (error: Error): void => finish(() => reject(new Error(`could not start ${process.execPath}: ${error.message}`)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`cargohold did not print "cargohold is up" within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const finish = (settle: () => void): void => {
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      settle();
    };
    child.stdout?.setEncoding('utf8').on('data', onText);
    child.stderr?.setEncoding('utf8').on('data', onText);
    child.once('exit', onExit);
    child.once('error', onError);
    child.on('error', () => undefined); // a later error must not crash the test process
  });
}
