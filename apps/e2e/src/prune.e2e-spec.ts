import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, loadBusybox, multiLayerImage, startSystem, writeDockerArchive, type SystemHandle } from '@cargohold/testing';

/** `docker image prune`, `docker builder prune`, `docker system df` and the gc sweep through the real docker CLI. */
describe('prune and sweep', () => {
  let system: SystemHandle;
  let docker: ReturnType<typeof dockerCli>;
  let dir: string;
  const ids = async () => (await docker.run(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const idOf = async (ref: string) => (await docker.run(['image', 'inspect', ref, '--format', '{{.Id}}'])).stdout.trim();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-prune-'));
    system = await startSystem();
    docker = dockerCli(system.dockerHost);
    await loadBusybox(docker, dir);
  }, 300_000);

  afterAll(async () => {
    await docker?.dispose();
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('image prune removes dangling images only; -a removes unused tagged ones; a container pins its image', async () => {
    const a = await writeDockerArchive(path.join(dir, 'a.tar'), [multiLayerImage('keep:1', 2)], { format: 'oci' });
    await docker.run(['load', '-i', path.join(dir, 'a.tar')]);
    const b = await writeDockerArchive(path.join(dir, 'b.tar'), [{ ...multiLayerImage('gone:1', 3), config: { Labels: { tier: 'tmp' } } }], { format: 'oci' });
    await docker.run(['load', '-i', path.join(dir, 'b.tar')]);
    // Re-tagging keep:1 onto busybox leaves a's image dangling.
    await docker.run(['tag', 'busybox', 'keep:1']);
    expect(await ids()).toContain(a.images[0].id);

    const pruned = await docker.run(['image', 'prune', '-f']);
    expect(pruned.stdout).toContain(`deleted: ${a.images[0].id}`);
    expect(pruned.stdout).toMatch(/Total reclaimed space: \d/);
    expect(await ids()).not.toContain(a.images[0].id);
    expect(await ids()).toContain(b.images[0].id);

    await docker.run(['create', '--name', 'pin', 'busybox']);
    const all = await docker.run(['image', 'prune', '-a', '-f', '--filter', 'label=tier=tmp']);
    expect(all.stdout).toContain('untagged: gone:1');
    expect(await ids()).not.toContain(b.images[0].id);
    const everything = await docker.run(['image', 'prune', '-a', '-f']);
    expect(everything.stdout).not.toContain(await idOf('busybox'));
    expect(await idOf('busybox')).toMatch(/^sha256:/);
  });

  it('a dry run lists exactly what the prune then deletes, untagged parents included', async () => {
    const ctx = path.join(dir, 'chain');
    mkdirSync(ctx, { recursive: true });
    const dockerfile = (last: string) => ['FROM busybox', 'RUN echo one > /one', 'RUN echo two > /two', `RUN echo ${last} > /three`, ''].join('\n');
    writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile('first'));
    await docker.run(['build', '-q', '-t', 'chain:1', ctx], { env: { DOCKER_BUILDKIT: '0' } });
    // The same tag built again from changed steps: the old image and the intermediate images only it used are dangling.
    writeFileSync(path.join(ctx, 'Dockerfile'), ['FROM busybox', 'RUN echo other > /one', ''].join('\n'));
    await docker.run(['build', '-q', '-t', 'chain:1', ctx], { env: { DOCKER_BUILDKIT: '0' } });

    const res = await fetch(`${system.url}/api/v1/gc/prune`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dryRun: true, danglingOnly: true }) });
    expect(res.status).toBe(200);
    const dry = (await res.json()) as { ImagesDeleted: Array<{ Deleted?: string }>; SpaceReclaimed: number };
    const listed = dry.ImagesDeleted.flatMap((r) => (r.Deleted ? [r.Deleted] : [])).sort();
    expect(listed.length).toBeGreaterThanOrEqual(3);
    expect((await ids()).filter((id) => listed.includes(id)).sort()).toEqual(listed);

    const pruned = await docker.run(['image', 'prune', '-f']);
    const deleted = [...pruned.stdout.matchAll(/deleted: (sha256:[0-9a-f]{64})/g)].map((m) => m[1]).sort();
    expect(deleted).toEqual(listed);
    expect(await idOf('chain:1')).toMatch(/^sha256:/);
  });

  it('until= keeps images created after the cut-off', async () => {
    const old = await writeDockerArchive(path.join(dir, 'old.tar'), [{ ...multiLayerImage('old:1', 2), created: '2020-01-01T00:00:00Z' }], { format: 'oci' });
    const fresh = await writeDockerArchive(path.join(dir, 'fresh.tar'), [{ ...multiLayerImage('fresh:1', 2), created: new Date().toISOString() }], { format: 'oci' });
    for (const f of ['old.tar', 'fresh.tar']) await docker.run(['load', '-i', path.join(dir, f)]);
    await docker.run(['image', 'prune', '-a', '-f', '--filter', 'until=24h']);
    const left = await ids();
    expect(left).not.toContain(old.images[0].id);
    expect(left).toContain(fresh.images[0].id);
  });

  it('system df reports images, containers and build cache; builder prune empties the cache', async () => {
    const ctx = path.join(dir, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo cached > /c\n');
    await docker.run(['build', '-t', 'cached:1', ctx]);
    const df = (await docker.run(['system', 'df'])).stdout;
    expect(df).toMatch(/Images\s+\d+\s+1\s/);
    expect(df).toMatch(/Containers\s+1\s/);
    expect(df).toMatch(/Build Cache\s+[1-9]/);
    const pruned = await docker.run(['builder', 'prune', '-f']);
    expect(pruned.stdout).toMatch(/Total(:| reclaimed space:)/);
    const after = (await docker.run(['system', 'df'])).stdout;
    expect(after).toMatch(/Build Cache\s+0\s/);
    const rebuilt = await docker.run(['build', '-t', 'cached:1', ctx]);
    expect(rebuilt.stdout).not.toContain('Using cache');
  });

  it('a sweep deletes the blobs nothing references and keeps every tagged image readable', async () => {
    const sweep = async (dryRun: boolean) => {
      const res = await fetch(`${system.url}/api/v1/gc/sweep`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dryRun, graceSeconds: 0 }) });
      expect(res.status).toBe(200);
      return (await res.json()) as { blobsDeleted: number; bytesFreed: number; dryRun: boolean };
    };
    const dry = await sweep(true);
    expect(dry.dryRun).toBe(true);
    expect(dry.blobsDeleted).toBeGreaterThan(0);
    const real = await sweep(false);
    expect(real.blobsDeleted).toBe(dry.blobsDeleted);
    expect((await sweep(true)).blobsDeleted).toBe(0);
    // Every tagged image still saves in full (every manifest, config and layer readable and verified by docker load into nothing).
    const out = path.join(dir, 'all.tar');
    const tags = (await docker.run(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').filter((t) => t && !t.includes('<none>'));
    await docker.run(['image', 'save', '-o', out, ...tags]);
    const check = await startSystem();
    try {
      const other = dockerCli(check.dockerHost);
      const loaded = await other.run(['load', '-i', out]);
      for (const tag of tags) expect(loaded.stdout).toContain(tag);
      await other.dispose();
    } finally {
      await check.stop();
    }
  });
});
