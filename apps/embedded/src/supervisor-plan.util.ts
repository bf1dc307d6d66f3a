import { ConfigError } from '@cargohold/config';

/** Worker apps the supervisor runs after the gateway is ready, in start order. */
export const WORKER_APPS = ['builder', 'puller', 'gc'] as const;
export type WorkerApp = (typeof WORKER_APPS)[number];
export type AppName = 'gateway' | WorkerApp;

export type ReplicaCounts = Record<WorkerApp, number>;

const MAX_REPLICAS = 64;

export function replicaVariable(app: WorkerApp): string {
  return `CARGOHOLD_REPLICAS_${app.toUpperCase()}`;
}

/**
 * Reads CARGOHOLD_REPLICAS_BUILDER / _PULLER / _GC (default 1 each). Zero is allowed so a worker
 * kind can run elsewhere against the same Redis. Throws ConfigError naming each bad variable.
 */
export function readReplicaCounts(env: NodeJS.ProcessEnv): ReplicaCounts {
  const problems: string[] = [];
  const counts = {} as ReplicaCounts;
  for (const app of WORKER_APPS) {
    const name = replicaVariable(app);
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') {
      counts[app] = 1;
      continue;
    }
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value > MAX_REPLICAS) {
      problems.push(`${name}: expected a whole number from 0 to ${MAX_REPLICAS}, got "${raw}"`);
      continue;
    }
    counts[app] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return counts;
}

/** The address a local client uses to reach a listener bound to `bindHost` (wildcards map to loopback). */
export function clientHost(bindHost: string): string {
  if (bindHost === '0.0.0.0') return '127.0.0.1';
  if (bindHost === '::' || bindHost === '[::]') return '::1';
  return bindHost;
}

/** host:port as it appears in a URL: IPv6 literals are bracketed. */
export function hostPort(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/** The two lines `npm start` prints once everything is ready. */
export function readyBanner(bindHost: string, port: number): [string, string] {
  const address = hostPort(clientHost(bindHost), port);
  return [`cargohold is up: http://${address}`, `export DOCKER_HOST=tcp://${address}`];
}

/** Replica names as shown in messages: `gateway`, or `builder#2` when several run. */
export function instanceName(app: AppName, index: number, replicas: number): string {
  return replicas > 1 ? `${app}#${index + 1}` : app;
}
