import { performance } from 'node:perf_hooks';

export interface DependencyCheck {
  status: 'up' | 'down';
  latencyMs: number;
  /** Why the dependency is down. */
  error?: string;
}

export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  /** Names the failed dependencies, for the 503 body and for a person reading it. */
  message?: string;
  failed?: string[];
  checks: Record<string, DependencyCheck>;
}

export type ReadinessProbe = () => Promise<void>;

/**
 * Runs every probe at once, each bounded by `timeoutMs` (a dependency that hangs is as unready as
 * one that refuses), and reports each one's status and latency.
 */
export async function runReadinessChecks(probes: Record<string, ReadinessProbe>, timeoutMs: number): Promise<ReadinessReport> {
  const names = Object.keys(probes);
  const results = await Promise.all(names.map((name) => timeProbe(probes[name], timeoutMs)));
  const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
  const failed = names.filter((name) => checks[name].status === 'down');
  if (failed.length === 0) return { status: 'ok', checks };
  return {
    status: 'unavailable',
    message: `not ready: ${failed.map((name) => `${name} (${checks[name].error})`).join(', ')}`,
    failed,
    checks,
  };
}

async function timeProbe(probe: ReadinessProbe, timeoutMs: number): Promise<DependencyCheck> {
  const started = performance.now();
  const latency = (): number => Math.round((performance.now() - started) * 10) / 10;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(probe), timeout]);
    return { status: 'up', latencyMs: latency() };
  } catch (error) {
    return { status: 'down', latencyMs: latency(), error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
