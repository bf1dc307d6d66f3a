import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, loadBusybox, startRedisServer, startSystem, type SystemHandle } from '@cargohold/testing';

const exec = promisify(execFile);

/** The parent of `pid`, from /proc (0 when it is gone). */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function hasAncestor(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; p = parentOf(p), hops++) if (p === ancestor) return true;
  return false;
}

/**
 * Scale and safety for builds: two builder processes on one queue; the one running a build is
 * SIGKILLed in the middle of a RUN. Nothing is tagged meanwhile, and the other builder takes the
 * job over once its lock lapses and completes it.
 */
describe('a builder killed mid-build', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let system: SystemHandle;
  let dir: string;
  const builders: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-builder-failover-'));
    redis = await startRedisServer();
    const env = { REDIS_URL: redis.url, CARGOHOLD_REPLICAS_BUILDER: '0', CARGOHOLD_JOB_LOCK_MS: '3000' };
    system = await startSystem({ env });
    const entry = path.join(__dirname, '../../../dist/apps/builder/src/main.js');
    for (let i = 0; i < 2; i++) {
      builders.push(spawn(process.execPath, [entry], { env: { ...process.env, ...system.env, ...env, CARGOHOLD_LOG_LEVEL: 'warn' }, stdio: 'ignore' }));
    }
    const docker = dockerCli(system.dockerHost);
    await loadBusybox(docker, dir);
    await docker.dispose();
    await new Promise((r) => setTimeout(r, 3000));
  }, 300_000);

  afterAll(async () => {
    for (const b of builders) if (b.exitCode === null) b.kill('SIGKILL');
    await system?.stop();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tags nothing while the build is interrupted, and the other builder completes it', async () => {
    const marker = `cargohold-failover-${Date.now()}`;
    const ctx = path.join(dir, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo first > /first\nRUN sleep 6 && echo ${marker} > /marker\n`);
    const docker = dockerCli(system.dockerHost);
    const building = docker.run(['build', '-t', 'failover/built:1', ctx], { timeoutMs: 120_000 });

    // Find the builder whose sandbox runs the marked command, and kill it.
    let victim: ChildProcess | undefined;
    for (let i = 0; i < 200 && !victim; i++) {
      const pids = await exec('pgrep', ['-f', marker]).then((r) => r.stdout.split('\n').filter(Boolean).map(Number), () => [] as number[]);
      victim = builders.find((b) => pids.some((pid) => hasAncestor(pid, b.pid!)));
      if (!victim) await new Promise((r) => setTimeout(r, 100));
    }
    expect(victim, 'one builder runs the build').toBeDefined();
    victim!.kill('SIGKILL');
    expect((await docker.run(['image', 'inspect', 'failover/built:1'], { allowFailure: true })).code).not.toBe(0);

    const { stdout } = await building;
    expect(stdout).toContain('Successfully tagged failover/built:1');
    const survivor = builders.find((b) => b !== victim)!;
    expect(survivor.exitCode).toBeNull();
    const id = (await docker.run(['image', 'inspect', 'failover/built:1', '--format', '{{.Id}}'])).stdout.trim();
    expect(id).toMatch(/^sha256:/);
    await docker.dispose();
  }, 180_000);
});
