import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.util';

/** The shared Redis of this machine (override with TEST_REDIS_URL). Not empty, not ours alone. */
export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/**
 * A key prefix no other test run uses, valid as CARGOHOLD_QUEUE_PREFIX
 * (letters, digits, `-`, `_`): `label-<pid>-<time>-<random>`.
 */
export function uniquePrefix(label = 'test'): string {
  return `${label}-${process.pid}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Deletes every key under `prefix:` (a test run's BullMQ keys) so shared Redis stays clean. */
export async function clearRedisPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    const keys = redis.scanStream({ match: `${prefix}:*`, count: 500 });
    for await (const batch of keys as AsyncIterable<string[]>) {
      if (batch.length > 0) deleted += await redis.unlink(...batch);
    }
  } finally {
    await redis.quit();
  }
  return deleted;
}

export interface RedisServerHandle {
  url: string;
  port: number;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway `redis-server` on a free loopback port, persisting nothing, with its working
 * directory in a temp dir. For tests that restart or break Redis, or need it empty.
 */
export async function startRedisServer(): Promise<RedisServerHandle> {
  let lastError: unknown;
  // A port found free can be taken before redis binds it; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(path.join(tmpdir(), 'cargohold-redis-'));
    try {
      return await launch(await freePort(), dir);
    } catch (error) {
      lastError = error;
      await rm(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

async function launch(port: number, dir: string): Promise<RedisServerHandle> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} not ready after 10 s:\n${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) done();
    };
    const onError = (error: Error): void =>
      fail(new Error(`cannot start redis-server (apt-get install -y redis-server): ${error.message}`, { cause: error }));
    const onExit = (code: number | null): void => fail(new Error(`redis-server exited with code ${code} before it was ready:\n${output}`));
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('error', onError);
      child.off('exit', onExit);
    }
    function done(): void {
      cleanup();
      resolve();
    }
    function fail(error: Error): void {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', onError);
    child.once('exit', onExit);
  });
  child.stdout.resume();

  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
