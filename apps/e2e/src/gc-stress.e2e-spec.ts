import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, loadBusybox, multiLayerImage, startSystem, writeDockerArchive, type SystemHandle } from '@cargohold/testing';

const exec = promisify(execFile);
const ROUNDS = Number(process.env.GC_STRESS_ROUNDS ?? 4);

/**
 * Zero loss through the real clients: registry pushes (skopeo), docker load and docker build run
 * while prunes and sweeps with no grace window at all run in parallel, round after round. A writer
 * may be refused when it races the sweep (a clean error, nothing committed); everything that was
 * committed must afterwards save and load into a fresh cargohold, which verifies every digest.
 */
describe('gc under load', () => {
  let system: SystemHandle;
  let docker: ReturnType<typeof dockerCli>;
  let dir: string;
  let host: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-gc-stress-'));
    system = await startSystem();
    host = new URL(system.url).host;
    docker = dockerCli(system.dockerHost);
    await loadBusybox(docker, dir);
  }, 300_000);

  afterAll(async () => {
    await docker?.dispose();
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const gc = async (what: 'prune' | 'sweep', body: object): Promise<void> => {
    const res = await fetch(`${system.url}/api/v1/gc/${what}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, `${what}: ${await res.clone().text()}`).toBe(200);
  };

  it(`keeps every committed image whole through ${ROUNDS} rounds of pushes, loads, builds, prunes and sweeps`, async () => {
    const committed = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const push = (async () => {
        const archive = path.join(dir, `push-${round}.tar`);
        await writeDockerArchive(archive, [multiLayerImage(`pushed/r${round}:1`, 2)], { format: 'docker-archive-legacy' });
        await exec('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${host}/pushed/r${round}:1`]);
        committed.add(`pushed/r${round}:1`);
      })().catch(() => undefined);
      const load = (async () => {
        const archive = path.join(dir, `load-${round}.tar`);
        await writeDockerArchive(archive, [multiLayerImage(`loaded/r${round}:1`, 3)], { format: 'oci' });
        const r = await docker.run(['load', '-i', archive], { allowFailure: true });
        if (r.code === 0) committed.add(`loaded/r${round}:1`);
      })();
      const build = (async () => {
        const ctx = path.join(dir, `ctx-${round}`);
        mkdirSync(ctx, { recursive: true });
        writeFileSync(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo ${round} > /round\nCOPY f /f\n`);
        writeFileSync(path.join(ctx, 'f'), `file ${round}\n`);
        const r = await docker.run(['build', '-t', `built/r${round}:1`, ctx], { allowFailure: true });
        if (r.code === 0) committed.add(`built/r${round}:1`);
      })();
      // Untag an earlier round's image so the prunes and sweeps have garbage to take.
      const remove = round > 0 ? docker.run(['image', 'rm', `loaded/r${round - 1}:1`], { allowFailure: true }).then((r) => r.code === 0 && committed.delete(`loaded/r${round - 1}:1`)) : Promise.resolve();
      const collect = (async () => {
        for (let i = 0; i < 3; i++) {
          await gc('prune', { danglingOnly: true });
          await gc('sweep', { graceSeconds: 0 });
        }
      })();
      await Promise.all([push, load, build, remove, collect]);
    }
    await gc('prune', { danglingOnly: true });
    await gc('sweep', { graceSeconds: 0 });

    expect(committed.size).toBeGreaterThan(ROUNDS);
    const tags = [...committed].sort();
    const archive = path.join(dir, 'everything.tar');
    await docker.run(['image', 'save', '-o', archive, ...tags]);
    const fresh = await startSystem();
    try {
      const other = dockerCli(fresh.dockerHost);
      const loaded = await other.run(['load', '-i', archive]);
      for (const tag of tags) expect(loaded.stdout).toContain(`Loaded image: ${tag}`);
      await other.dispose();
    } finally {
      await fresh.stop();
    }
    // Nothing unreferenced is left behind.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const res = await fetch(`${system.url}/api/v1/gc/sweep`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graceSeconds: 0, dryRun: true }) });
    expect(((await res.json()) as { blobsDeleted: number }).blobsDeleted).toBe(0);
  }, 600_000);
});
