import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { findExecutable } from './executable.util';
import { ManagedProcess } from './managed-process';
import { findFreePort } from './port.util';
import { redisAnswersPing, waitUntil } from './probe.util';

export const REDIS_NOT_FOUND_MESSAGE =
  "redis-server not found: install it with 'apt-get install redis-server' (Debian) or set REDIS_URL";

export class RedisNotFoundError extends Error {
  constructor() {
    super(REDIS_NOT_FOUND_MESSAGE);
    this.name = 'RedisNotFoundError';
  }
}

export interface LocalRedis {
  url: string;
  process: ManagedProcess;
}

export interface LocalRedisOptions {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** How long to wait for PONG (a big append-only file takes a while to load). */
  readyTimeoutMs: number;
  signal?: AbortSignal;
  /** Ports promised to someone else (the gateway's): never handed to redis-server. */
  reservedPorts?: readonly number[];
  /** Called as soon as redis-server runs, before it is ready (to register it for cleanup). */
  onSpawn?: (redis: ManagedProcess) => void;
}

const HOST = '127.0.0.1';
// The free port is probed and then handed to redis-server; another process may take it in between.
const PORT_ATTEMPTS = 3;

/**
 * Starts a private redis-server on loopback, persisting to <dataDir>/redis with the append-only
 * file, and resolves once it answers PING. BullMQ needs `noeviction`: an evicted job key is a lost job.
 */
export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalRedis> {
  const executable = findExecutable('redis-server', options.env.PATH);
  if (!executable) throw new RedisNotFoundError();
  const dir = path.join(options.dataDir, 'redis');
  await mkdir(dir, { recursive: true });

  let lastFailure = '';
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    let port = await findFreePort(HOST);
    while (options.reservedPorts?.includes(port)) port = await findFreePort(HOST);
    const redis = ManagedProcess.spawn(
      'redis-server',
      executable,
      [
        '--bind', HOST,
        '--port', String(port),
        '--dir', dir,
        '--appendonly', 'yes',
        '--maxmemory-policy', 'noeviction',
        '--daemonize', 'no',
        '--protected-mode', 'yes',
      ],
      { env: options.env, output: 'capture' },
    );
    await redis.started();
    options.onSpawn?.(redis);
    const gone = new AbortController();
    const abortOnExit = (): void => gone.abort();
    void redis.exited.then(abortOnExit);
    options.signal?.addEventListener('abort', abortOnExit, { once: true });
    try {
      await waitUntil(() => redisAnswersPing(HOST, port, 1_000), {
        timeoutMs: options.readyTimeoutMs,
        intervalMs: 100,
        signal: gone.signal,
        timeoutMessage: `redis-server on ${HOST}:${port} did not answer PING within ${options.readyTimeoutMs / 1000} s`,
      });
      return { url: `redis://${HOST}:${port}`, process: redis };
    } catch (err) {
      await redis.stop(2_000);
      if (options.signal?.aborted) throw err;
      const output = redis.recentOutput().join('\n');
      lastFailure = `${err instanceof Error && err.name !== 'WaitAbortedError' ? err.message : `redis-server ${redis.describeExit()}`}${output ? `\n${output}` : ''}`;
      // Only a lost port race is worth another attempt.
      if (!/address already in use/i.test(output)) break;
    } finally {
      options.signal?.removeEventListener('abort', abortOnExit);
    }
  }
  throw new Error(`could not start redis-server (data in ${dir}): ${lastFailure}`);
}
