import { loadConfig } from '@cargohold/config';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { findFreePort } from './port.util';
import { httpStatus, redisAnswersPing } from './probe.util';
import { Supervisor } from './supervisor.service';
import type { SupervisorOptions } from './supervisor.service';
import type { AppName } from './supervisor-plan.util';

// Stand-ins for the compiled apps: the gateway serves /readyz, workers idle until SIGTERM. Each
// records what it was started with so the test can check order and environment.
const GATEWAY_STUB = `
const http = require('node:http');
const fs = require('node:fs');
fs.appendFileSync(process.env.STUB_LOG, JSON.stringify({ app: 'gateway', pid: process.pid, at: Date.now(), redis: process.env.REDIS_URL, dataDir: process.env.CARGOHOLD_DATA_DIR }) + '\\n');
const readyAfter = Date.now() + Number(process.env.STUB_READY_DELAY_MS || 300);
const server = http.createServer((req, res) => { res.statusCode = req.url === '/readyz' && Date.now() >= readyAfter ? 200 : 503; res.end(); });
server.listen(Number(process.env.CARGOHOLD_PORT), process.env.CARGOHOLD_HOST);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
// Signal handlers go first: once a stub has reported, it must already behave as configured.
const workerStub = (app: string): string => `
const fs = require('node:fs');
const timer = setInterval(() => {}, 1000);
if (process.env.STUB_IGNORE_TERM === '${app}') process.on('SIGTERM', () => {});
else process.on('SIGTERM', () => { clearInterval(timer); process.exit(0); });
if (process.env.STUB_CRASH === '${app}') setTimeout(() => process.exit(3), 300);
fs.appendFileSync(process.env.STUB_LOG, JSON.stringify({ app: '${app}', pid: process.pid, at: Date.now(), redis: process.env.REDIS_URL }) + '\\n');
`;

interface StubRecord {
  app: AppName;
  pid: number;
  at: number;
  redis?: string;
  dataDir?: string;
}

/** Workers report a moment after they are spawned; wait for `count` records. */
async function settled(records: () => StubRecord[], count: number): Promise<StubRecord[]> {
  const deadline = Date.now() + 10_000;
  while (records().length < count) {
    if (Date.now() > deadline) throw new Error(`only ${records().length} of ${count} stubs reported`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return records();
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Supervisor (stub apps, real redis-server)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'cargohold-supervisor-'));
  const appsDir = path.join(root, 'apps');
  mkdirSync(appsDir);
  writeFileSync(path.join(appsDir, 'gateway.js'), GATEWAY_STUB);
  for (const app of ['builder', 'puller', 'gc']) writeFileSync(path.join(appsDir, `${app}.js`), workerStub(app));
  const running: Supervisor[] = [];
  let runCount = 0;

  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop(0, 'test cleanup')));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function makeSupervisor(
    extraEnv: Record<string, string> = {},
    overrides: Partial<SupervisorOptions> = {},
  ): Promise<{ supervisor: Supervisor; port: number; dataDir: string; records: () => StubRecord[]; logs: string[] }> {
    runCount += 1;
    const port = await findFreePort('127.0.0.1');
    const dataDir = path.join(root, `data-${runCount}`);
    const stubLog = path.join(root, `stubs-${runCount}.log`);
    writeFileSync(stubLog, '');
    // The outer environment may carry REDIS_URL; each case decides for itself.
    const { REDIS_URL: _outer, ...inherited } = process.env;
    const env = { ...inherited, CARGOHOLD_PORT: String(port), CARGOHOLD_DATA_DIR: dataDir, STUB_LOG: stubLog, ...extraEnv };
    const logs: string[] = [];
    const supervisor = new Supervisor({
      config: loadConfig(env),
      replicas: { builder: 2, puller: 1, gc: 1 },
      env,
      entryOf: (app) => path.join(appsDir, `${app}.js`),
      log: (line) => logs.push(line),
      stopGraceMs: 2_000,
      ...overrides,
    });
    running.push(supervisor);
    const records = (): StubRecord[] =>
      readFileSync(stubLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as StubRecord);
    return { supervisor, port, dataDir, records, logs };
  }

  it('starts redis, then the gateway, then the workers once /readyz answers, and stops them all', async () => {
    const { supervisor, port, dataDir, records } = await makeSupervisor();
    expect(await supervisor.start()).toBe(true);
    expect(await httpStatus(`http://127.0.0.1:${port}/readyz`, 1_000)).toBe(200);

    const started = await settled(records, 5);
    expect(started.map((r) => r.app).sort()).toEqual(['builder', 'builder', 'gateway', 'gc', 'puller']);
    const gateway = started.find((r) => r.app === 'gateway')!;
    expect(started.filter((r) => r.app !== 'gateway').every((r) => r.at >= gateway.at + 300)).toBe(true);
    const redisUrl = gateway.redis!;
    expect(redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set(started.map((r) => r.redis))).toEqual(new Set([redisUrl]));
    expect(gateway.dataDir).toBe(dataDir);
    const redisPort = Number(new URL(redisUrl).port);
    expect(await redisAnswersPing('127.0.0.1', redisPort, 1_000)).toBe(true);

    const pids = supervisor.pids();
    expect(pids).toHaveLength(6);
    const reaper = supervisor.reaperPid()!;
    expect(isAlive(reaper)).toBe(true);
    await supervisor.stop(0, 'received SIGINT');
    expect(await supervisor.finished).toEqual({ exitCode: 0, reason: 'received SIGINT' });
    expect(pids.filter(isAlive)).toEqual([]);
    await until(() => !isAlive(reaper));
    expect(await redisAnswersPing('127.0.0.1', redisPort, 500)).toBe(false);
  });

  it('stops everything and reports which child died when one exits unexpectedly', async () => {
    const { supervisor, records, logs } = await makeSupervisor({ STUB_CRASH: 'puller' });
    expect(await supervisor.start()).toBe(true);
    const outcome = await supervisor.finished;
    expect(outcome.exitCode).toBe(1);
    const puller = records().find((r) => r.app === 'puller')!;
    expect(outcome.reason).toBe(`puller (pid ${puller.pid}) exited with code 3 unexpectedly`);
    expect(logs.at(-1)).toContain('stopped because puller');
    expect(supervisor.pids().filter(isAlive)).toEqual([]);
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async () => {
    const { supervisor, records } = await makeSupervisor({ STUB_IGNORE_TERM: 'gc' }, { stopGraceMs: 700 });
    expect(await supervisor.start()).toBe(true);
    const gc = (await settled(records, 5)).find((r) => r.app === 'gc')!;
    const began = Date.now();
    await supervisor.stop(0, 'received SIGTERM');
    expect(Date.now() - began).toBeGreaterThanOrEqual(650);
    expect(isAlive(gc.pid)).toBe(false);
    expect(supervisor.pids().filter(isAlive)).toEqual([]);
  });

  it('treats a signal repeated at once as one (npm forwards Ctrl-C), and a later one as "kill now"', async () => {
    const { supervisor, records, logs } = await makeSupervisor({ STUB_IGNORE_TERM: 'gc' }, { stopGraceMs: 30_000 });
    expect(await supervisor.start()).toBe(true);
    const gc = (await settled(records, 5)).find((r) => r.app === 'gc')!;
    const began = Date.now();
    void supervisor.stop(0, 'received SIGINT');
    void supervisor.stop(0, 'received SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(isAlive(gc.pid)).toBe(true);
    void supervisor.stop(0, 'received SIGINT');
    expect((await supervisor.finished).exitCode).toBe(0);
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(isAlive(gc.pid)).toBe(false);
    expect(logs.filter((line) => line.includes('killing everything now'))).toHaveLength(1);
  });

  it('gives up with a clear message when the gateway never becomes ready', async () => {
    const { supervisor, port, records } = await makeSupervisor({ STUB_READY_DELAY_MS: '60000' }, { gatewayReadyTimeoutMs: 1_000 });
    expect(await supervisor.start()).toBe(false);
    const outcome = await supervisor.finished;
    expect(outcome.exitCode).toBe(1);
    expect(outcome.reason).toMatch(new RegExp(`^gateway \\(pid \\d+\\) did not answer 200 on http://127\\.0\\.0\\.1:${port}/readyz within 1 s$`));
    expect(records().map((r) => r.app)).toEqual(['gateway']);
    expect(supervisor.pids().filter(isAlive)).toEqual([]);
  });

  it('uses the given REDIS_URL instead of starting redis-server', async () => {
    const redisPort = await findFreePort('127.0.0.1');
    const { supervisor, records } = await makeSupervisor({ REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    expect(await supervisor.start()).toBe(true);
    expect(supervisor.pids()).toHaveLength(5);
    expect(new Set((await settled(records, 5)).map((r) => r.redis))).toEqual(new Set([`redis://127.0.0.1:${redisPort}`]));
  });

  it('refuses a port that is already taken before starting anything', async () => {
    const first = await makeSupervisor();
    expect(await first.supervisor.start()).toBe(true);
    const second = await makeSupervisor({ CARGOHOLD_PORT: String(first.port) });
    expect(await second.supervisor.start()).toBe(false);
    expect((await second.supervisor.finished).reason).toBe(
      `port ${first.port} on 127.0.0.1 is already in use: stop whatever listens there or choose another port with CARGOHOLD_PORT`,
    );
    expect(second.supervisor.pids()).toEqual([]);
  });

  it('names the missing redis-server and how to get it', async () => {
    const { supervisor, logs } = await makeSupervisor({ PATH: path.join(root, 'no-such-dir') });
    expect(await supervisor.start()).toBe(false);
    const expected = "redis-server not found: install it with 'apt-get install redis-server' (Debian) or set REDIS_URL";
    expect((await supervisor.finished).reason).toBe(expected);
    expect(logs).toEqual([expected]);
  });
});
