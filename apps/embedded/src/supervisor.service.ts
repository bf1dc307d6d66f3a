import type { AppConfig } from '@cargohold/config';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';

import { startLocalRedis } from './local-redis.service';
import { ManagedProcess } from './managed-process';
import { OrphanReaper } from './orphan-reaper';
import { assertPortFree } from './port.util';
import { httpStatus, waitUntil } from './probe.util';
import { WORKER_APPS, clientHost, hostPort, instanceName } from './supervisor-plan.util';
import type { AppName, ReplicaCounts } from './supervisor-plan.util';

export interface SupervisorOptions {
  config: AppConfig;
  replicas: ReplicaCounts;
  /** Environment handed to every child (REDIS_URL and CARGOHOLD_DATA_DIR are filled in). */
  env: NodeJS.ProcessEnv;
  /** Compiled entry point of an app, e.g. dist/apps/gateway/src/main.js. */
  entryOf: (app: AppName) => string;
  /** Human-facing diagnostics (stderr); stdout belongs to the children's JSON logs. */
  log: (line: string) => void;
  stopGraceMs?: number;
  gatewayReadyTimeoutMs?: number;
  redisReadyTimeoutMs?: number;
}

export interface SupervisorOutcome {
  exitCode: number;
  reason: string;
}

const DEFAULT_STOP_GRACE_MS = 10_000;
const DEFAULT_GATEWAY_READY_TIMEOUT_MS = 180_000;
const DEFAULT_REDIS_READY_TIMEOUT_MS = 60_000;
const REPEAT_SIGNAL_WINDOW_MS = 1_000;

/**
 * Runs the embedded deployment as a process tree: a private redis-server (unless REDIS_URL is
 * set), the gateway (which migrates the database, so it goes first), then the workers. Any
 * unexpected exit stops everything; a stop request stops children first and Redis last.
 */
export class Supervisor {
  readonly finished: Promise<SupervisorOutcome>;
  private resolveFinished!: (outcome: SupervisorOutcome) => void;
  private readonly children: ManagedProcess[] = [];
  private redis: ManagedProcess | undefined;
  private reaper: OrphanReaper | undefined;
  private stopping: Promise<void> | undefined;
  /** Settles when start() has returned, so stop() never races a child being spawned. */
  private startup: Promise<boolean> | undefined;
  private readonly abort = new AbortController();
  private stopRequestedAt = 0;
  private stopped = false;
  private readonly stopGraceMs: number;

  constructor(private readonly options: SupervisorOptions) {
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  /** Child pids plus Redis, for tests and diagnostics. */
  pids(): number[] {
    return [...this.children, ...(this.redis ? [this.redis] : [])].flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  /** Pid of the orphan reaper (see OrphanReaper), for tests. */
  reaperPid(): number | undefined {
    return this.reaper?.pid;
  }

  /**
   * Brings everything up. Resolves true once the gateway is ready and every worker has started;
   * false if startup failed or a stop was requested meanwhile (`finished` then says why).
   */
  start(): Promise<boolean> {
    this.startup ??= this.bringUp();
    return this.startup;
  }

  private async bringUp(): Promise<boolean> {
    const { config } = this.options;
    try {
      const missing = (['gateway', ...WORKER_APPS] as const).map((app) => this.options.entryOf(app)).filter((entry) => !existsSync(entry));
      if (missing.length > 0) {
        throw new Error(`compiled app not found: ${missing.join(', ')} (build with 'node scripts/build.mjs'; npm start does this)`);
      }
      if (config.port === 0) {
        throw new Error('CARGOHOLD_PORT: npm start needs a fixed port (0 would hide where the gateway listens)');
      }
      await assertPortFree(config.host, config.port, 'CARGOHOLD_PORT');
      await mkdir(config.dataDir, { recursive: true });
      this.reaper = OrphanReaper.start();

      let redisUrl = config.redisUrl;
      if (!redisUrl) {
        const local = await startLocalRedis({
          dataDir: config.dataDir,
          env: this.options.env,
          readyTimeoutMs: this.options.redisReadyTimeoutMs ?? DEFAULT_REDIS_READY_TIMEOUT_MS,
          signal: this.abort.signal,
          reservedPorts: [config.port],
          onSpawn: (redis) => this.reaper?.watch(redis.pid),
        });
        this.redis = local.process;
        this.watch(local.process);
        redisUrl = local.url;
      }
      const childEnv: NodeJS.ProcessEnv = { ...this.options.env, REDIS_URL: redisUrl, CARGOHOLD_DATA_DIR: config.dataDir };

      const gateway = await this.launch('gateway', 'gateway', childEnv);
      const readyz = `http://${hostPort(clientHost(config.host), config.port)}/readyz`;
      const timeoutMs = this.options.gatewayReadyTimeoutMs ?? DEFAULT_GATEWAY_READY_TIMEOUT_MS;
      await waitUntil(async () => (await httpStatus(readyz, 2_000)) === 200, {
        timeoutMs,
        intervalMs: 200,
        signal: this.abort.signal,
        timeoutMessage: `gateway (pid ${gateway.pid}) did not answer 200 on ${readyz} within ${timeoutMs / 1000} s`,
      });

      for (const app of WORKER_APPS) {
        for (let i = 0; i < this.options.replicas[app]; i++) {
          if (this.abort.signal.aborted) return false;
          await this.launch(instanceName(app, i, this.options.replicas[app]), app, childEnv);
        }
      }
      return !this.stopping;
    } catch (err) {
      // An abort means stop() already runs and records the reason.
      if (!this.abort.signal.aborted) void this.stop(1, err instanceof Error ? err.message : String(err));
      return false;
    }
  }

  /**
   * SIGTERM every child, SIGKILL what is left after the grace period, then stop Redis. Idempotent;
   * a signal repeated more than a second later (a second Ctrl-C) kills everything at once.
   */
  stop(exitCode: number, reason: string): Promise<void> {
    if (this.stopping) {
      // npm forwards the terminal's SIGINT, so one Ctrl-C arrives twice within milliseconds.
      if (exitCode === 0 && !this.stopped && Date.now() - this.stopRequestedAt > REPEAT_SIGNAL_WINDOW_MS) {
        this.options.log(`cargohold: ${reason} again, killing everything now`);
        for (const child of [...this.children, ...(this.redis ? [this.redis] : [])]) child.killGroup();
      }
      return this.stopping;
    }
    // Before anything was spawned (e.g. redis-server missing) the reason alone is the message.
    const anythingStarted = this.children.length > 0 || this.redis !== undefined;
    if (anythingStarted || exitCode === 0) {
      this.options.log(exitCode === 0 ? `cargohold: ${reason}, stopping` : `cargohold: ${reason}; stopping everything`);
    }
    this.abort.abort();
    this.stopRequestedAt = Date.now();
    this.stopping = (async () => {
      await this.startup;
      await Promise.all(this.children.map((child) => child.stop(this.stopGraceMs)));
      if (this.redis) await this.redis.stop(this.stopGraceMs);
      this.reaper?.release();
      this.stopped = true;
      if (exitCode === 0) this.options.log('cargohold: stopped');
      else this.options.log(anythingStarted ? `cargohold: stopped because ${reason.split('\n')[0]}` : reason);
      this.resolveFinished({ exitCode, reason });
    })();
    return this.stopping;
  }

  private async launch(name: string, app: AppName, env: NodeJS.ProcessEnv): Promise<ManagedProcess> {
    const child = ManagedProcess.spawn(name, process.execPath, ['--enable-source-maps', this.options.entryOf(app)], {
      env,
      output: 'inherit',
    });
    this.children.push(child);
    this.reaper?.watch(child.pid);
    this.watch(child);
    await child.started();
    return child;
  }

  private watch(child: ManagedProcess): void {
    void child.exited.then((exit) => {
      if (this.stopping) return;
      const pid = child.pid === undefined ? '' : ` (pid ${child.pid})`;
      const recent = child.name === 'redis-server' ? child.recentOutput().slice(-10) : [];
      void this.stop(1, [`${child.name}${pid} ${child.describeExit(exit)} unexpectedly`, ...recent].join('\n'));
    });
  }
}
