import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { largeImage, pushTestImage, startRedisServer, startRegistry, startSystem, type PushedTestImage, type TestRegistry } from '@cargohold/testing';

type System = Awaited<ReturnType<typeof startSystem>>;

/** Sockets of a process, as inode numbers. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* fd closed meanwhile */
    }
  }
  return inodes;
}

/** Inodes of established TCP connections to `port` on loopback. */
function connectionsTo(port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length > 9 && cols[2].endsWith(`:${hexPort}`) && cols[3] === '01') inodes.add(cols[9]);
  }
  return inodes;
}

/**
 * Scale and safety: two puller replicas; the one pulling is SIGKILLed mid-download. No half
 * image becomes visible, and BullMQ's stalled-job recovery hands the job to the other replica,
 * which finishes it (the handler is idempotent).
 */
describe('a puller killed mid-pull', () => {
  let registry: TestRegistry;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let system: System;
  let image: PushedTestImage;
  const pullers: ChildProcess[] = [];

  beforeAll(async () => {
    [registry, redis] = await Promise.all([startRegistry(), startRedisServer()]);
    image = await pushTestImage(registry, 'failover/big', '1', largeImage('failover/big:1', 4, 96));
    // The launcher runs the gateway (and no puller); the test runs the two pullers itself, since
    // the launcher treats any child's death as fatal.
    const env = { REDIS_URL: redis.url, CARGOHOLD_REPLICAS_PULLER: '0', CARGOHOLD_JOB_LOCK_MS: '3000', CARGOHOLD_PULL_CONCURRENCY: '1' };
    system = await startSystem({ env });
    const entry = path.join(__dirname, '../../../dist/apps/puller/src/main.js');
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [entry], {
        env: { ...process.env, ...system.env, ...env, CARGOHOLD_LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      });
      pullers.push(child);
    }
    // Both workers connected: a tiny wait for their boot.
    await new Promise((r) => setTimeout(r, 3000));
  }, 300_000);

  afterAll(async () => {
    for (const p of pullers) if (p.exitCode === null) p.kill('SIGKILL');
    await system?.stop();
    await Promise.all([registry?.stop(), redis?.stop()]);
  });

  it('leaves no half image and the other replica completes the job', async () => {
    const ref = `${registry.host}/failover/big:1`;
    const res = await fetch(`${system.url}/v1.47/images/create?fromImage=${encodeURIComponent(`${registry.host}/failover/big`)}&tag=1`, { method: 'POST' });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let killed: number | null = null;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (killed === null && text.includes('"Downloading"')) {
        const registryPort = Number(registry.host.split(':')[1]);
        const live = connectionsTo(registryPort);
        const victim = pullers.find((p) => p.pid && [...socketInodes(p.pid)].some((inode) => live.has(inode)));
        expect(victim, 'one puller is downloading from the registry').toBeDefined();
        victim!.kill('SIGKILL');
        killed = victim!.pid!;
        // Nothing is visible while the job waits for another replica.
        const half = await fetch(`${system.url}/images/${ref}/json`);
        expect(half.status).toBe(404);
      }
    }
    expect(killed).not.toBeNull();
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { status?: string; error?: string });
    expect(lines.filter((l) => l.error)).toEqual([]);
    expect(lines.at(-1)?.status).toBe(`Status: Downloaded newer image for ${ref}`);
    const inspect = (await (await fetch(`${system.url}/images/${ref}/json`)).json()) as { Id: string; RootFS: { Layers: string[] } };
    expect(inspect.Id).toBe(image.configDigest);
    expect(inspect.RootFS.Layers).toEqual(image.diffIds);
  });
});
