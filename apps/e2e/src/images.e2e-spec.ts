import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, dockerCli, multiLayerImage, startDockerd, startSystem, writeDockerArchive } from '@cargohold/testing';

type System = Awaited<ReturnType<typeof startSystem>>;
type Cli = ReturnType<typeof dockerCli>;

/**
 * The first half of `docker image …`, driven by the real docker CLI against a running cargohold
 * (the same launcher `npm start` runs), with images written by the test fixtures.
 */
describe('docker image commands through the real docker CLI', () => {
  let system: System;
  let docker: Cli;
  let dir: string;
  const ids: Record<string, string> = {};
  const diffIds: Record<string, string[]> = {};

  const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
  const ls = async (...args: string[]) => lines((await docker.run(['image', 'ls', ...args])).stdout);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-e2e-'));
    system = await startSystem();
    docker = dockerCli(system.dockerHost);

    const written = await writeDockerArchive(path.join(dir, 'busybox.tar'), [busyboxImage('busybox:latest')], { format: 'oci' });
    ids.busybox = written.images[0].id;
    diffIds.busybox = written.images[0].diffIds;
    const multi = await writeDockerArchive(path.join(dir, 'app.tar'), [{ ...multiLayerImage('app:1', 3), repoTags: ['app:1', 'app:latest'] }], {
      format: 'docker-archive-legacy',
    });
    ids.app = multi.images[0].id;
    const labelled = await writeDockerArchive(
      path.join(dir, 'labelled.tar.gz'),
      [{ ...busyboxImage('labelled:1'), config: { Labels: { 'com.example.tier': 'backend' }, Cmd: ['sh'] }, created: '2030-01-01T00:00:00Z' }],
      { format: 'oci', gzip: true },
    );
    ids.labelled = labelled.images[0].id;
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates a modern API version', async () => {
    const { stdout } = await docker.run(['version', '--format', '{{.Server.APIVersion}}']);
    expect(Number(stdout.trim().split('.')[1])).toBeGreaterThanOrEqual(43);
  });

  it('docker load -i reads the OCI layout Docker ≥25 writes', async () => {
    const { stdout } = await docker.run(['load', '-i', path.join(dir, 'busybox.tar')]);
    expect(stdout).toContain('Loaded image: busybox:latest');
    const inspect = await docker.run(['image', 'inspect', 'busybox', '--format', '{{.Id}}']);
    expect(inspect.stdout.trim()).toBe(ids.busybox);
  });

  it('docker load -i reads the legacy docker-archive and gzip archives', async () => {
    const app = await docker.run(['load', '-i', path.join(dir, 'app.tar')]);
    expect(app.stdout).toContain('Loaded image: app:1');
    expect(app.stdout).toContain('Loaded image: app:latest');
    const labelled = await docker.run(['load', '-i', path.join(dir, 'labelled.tar.gz')]);
    expect(labelled.stdout).toContain('Loaded image: labelled:1');
  });

  it('docker image inspect shows the layers and config', async () => {
    const layers = await docker.run(['image', 'inspect', 'busybox', '--format', '{{json .RootFS.Layers}}']);
    expect(JSON.parse(layers.stdout)).toEqual(diffIds.busybox);
    const labels = await docker.run(['image', 'inspect', 'labelled:1', '--format', '{{json .Config.Labels}}']);
    expect(JSON.parse(labels.stdout)).toEqual({ 'com.example.tier': 'backend' });
    const tags = await docker.run(['image', 'inspect', 'app', '--format', '{{json .RepoTags}}']);
    expect(JSON.parse(tags.stdout).sort()).toEqual(['app:1', 'app:latest']);
  });

  it('docker image ls in the forms of the docs', async () => {
    const all = await ls('--format', '{{.Repository}}:{{.Tag}}');
    expect(all).toEqual(expect.arrayContaining(['busybox:latest', 'app:1', 'app:latest', 'labelled:1']));
    expect(await ls('app', '--format', '{{.Repository}}:{{.Tag}}')).toEqual(expect.arrayContaining(['app:1', 'app:latest']));
    expect(await ls('app:1', '--format', '{{.Tag}}')).toEqual(['1']);
    const quiet = await ls('-q');
    expect(quiet).toContain(ids.busybox.slice(7, 19));
    expect(new Set(quiet).size).toBe(3);
    const digests = await ls('--digests', '--format', '{{.Repository}} {{.Digest}}');
    expect(digests.find((l) => l.startsWith('busybox '))).toMatch(/^busybox sha256:[a-f0-9]{64}$/);
    expect(await ls('--filter=reference=*:latest', '--format', '{{.Repository}}:{{.Tag}}')).toEqual(
      expect.arrayContaining(['busybox:latest', 'app:latest']),
    );
    expect(await ls('--filter=reference=*:latest', '--format', '{{.Repository}}:{{.Tag}}')).not.toContain('app:1');
    expect(await ls('-f', 'label=com.example.tier=backend', '--format', '{{.Repository}}')).toEqual(['labelled']);
    expect(await ls('-f', 'label=com.example.tier=frontend', '-q')).toEqual([]);
    // labelled:1 was created in 2030, after the others.
    expect(await ls('-f', 'since=busybox', '--format', '{{.Repository}}')).toEqual(['labelled']);
    expect(await ls('-f', 'before=labelled:1', '--format', '{{.Repository}}')).not.toContain('labelled');
    const header = lines((await docker.run(['image', 'ls'])).stdout)[0];
    expect(header).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  });

  it('docker image history lists each layer newest first', async () => {
    const { stdout } = await docker.run(['image', 'history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}', 'app:1']);
    const rows = lines(stdout);
    expect(rows).toHaveLength(4);
    expect(rows[0].startsWith(`${ids.app}|`)).toBe(true);
    expect(rows.slice(1).every((r) => r.startsWith('<missing>|'))).toBe(true);
  });

  it('docker image tag adds a reference and rm by name only untags', async () => {
    await docker.run(['image', 'tag', 'busybox', 'registry.example:5000/team/bb:v1']);
    expect(await ls('registry.example:5000/team/bb', '--format', '{{.Tag}} {{.ID}}')).toEqual([`v1 ${ids.busybox.slice(7, 19)}`]);
    const rm = await docker.run(['image', 'rm', 'registry.example:5000/team/bb:v1']);
    expect(lines(rm.stdout)).toEqual(['Untagged: registry.example:5000/team/bb:v1']);
    expect((await docker.run(['image', 'inspect', 'busybox', '--format', '{{.Id}}'])).stdout.trim()).toBe(ids.busybox);
  });

  it('docker image rm by short ID of an image in two repositories needs force', async () => {
    await docker.run(['image', 'tag', 'busybox', 'other/bb:1']);
    const short = ids.busybox.slice(7, 19);
    const refused = await docker.run(['image', 'rm', short], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
    expect(await ls('-q')).toContain(short);
    await docker.run(['image', 'rm', 'other/bb:1']);
  });

  it('docker image rm by digest, then by long ID', async () => {
    const digest = (await docker.run(['image', 'inspect', 'labelled:1', '--format', '{{index .RepoDigests 0}}'])).stdout.trim();
    expect(digest).toMatch(/^labelled@sha256:[a-f0-9]{64}$/);
    const byDigest = await docker.run(['image', 'rm', digest]);
    expect(lines(byDigest.stdout)).toEqual([`Untagged: ${digest}`]);
    const byId = await docker.run(['image', 'rm', ids.labelled]);
    expect(lines(byId.stdout)).toEqual(['Untagged: labelled:1', `Deleted: ${ids.labelled}`]);
    const missing = await docker.run(['image', 'rm', 'labelled:1'], { allowFailure: true });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No such image: labelled:1');
  });

  it('re-loading a tag onto another image leaves the old one dangling', async () => {
    const first = await writeDockerArchive(path.join(dir, 'd1.tar'), [{ ...busyboxImage('dangle:1'), config: { Env: ['V=1'] } }], { format: 'oci' });
    const second = await writeDockerArchive(path.join(dir, 'd2.tar'), [{ ...busyboxImage('dangle:1'), config: { Env: ['V=2'] } }], { format: 'oci' });
    await docker.run(['load', '-i', path.join(dir, 'd1.tar')]);
    const out = await docker.run(['load', '-i', path.join(dir, 'd2.tar')]);
    expect(out.stdout).toContain(`The image dangle:1 already exists, renaming the old one with ID ${first.images[0].id} to empty string`);
    const dangling = await ls('-f', 'dangling=true', '--no-trunc', '-q');
    expect(dangling).toEqual([first.images[0].id]);
    // As on dockerd, the old image keeps its repo digest and lists as `<none>` in its repository.
    expect((await ls('dangle', '--no-trunc', '--format', '{{.Tag}} {{.ID}}')).sort()).toEqual([`1 ${second.images[0].id}`, `<none> ${first.images[0].id}`]);
    const removed = await docker.run(['image', 'rm', first.images[0].id.slice(7, 19)]);
    expect(lines(removed.stdout)).toEqual([expect.stringMatching(/^Untagged: dangle@sha256:[a-f0-9]{64}$/), `Deleted: ${first.images[0].id}`]);
    // Removing the last tag also drops the repository's digest references, then the image.
    const last = await docker.run(['image', 'rm', 'dangle:1']);
    expect(lines(last.stdout)).toEqual(['Untagged: dangle:1', expect.stringMatching(/^Untagged: dangle@sha256:/), `Deleted: ${second.images[0].id}`]);
  });

  it('docker save → rm → load restores the same IDs and digests', async () => {
    const before = await ls('--digests', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}} {{.Digest}}');
    const archive = path.join(dir, 'saved.tar');
    await docker.run(['image', 'save', '-o', archive, 'busybox', 'app:1', 'app:latest']);
    await docker.run(['image', 'rm', 'busybox', 'app:1', 'app:latest']);
    expect(await ls('-q')).toEqual([]);
    const loaded = await docker.run(['image', 'load', '-i', archive]);
    expect(loaded.stdout).toContain('Loaded image: busybox:latest');
    const after = await ls('--digests', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}} {{.Digest}}');
    expect(after.sort()).toEqual(before.sort());
  });

  it('the saved archive loads into a real dockerd with the same image IDs', async () => {
    const dockerd = await startDockerd();
    expect(dockerd, 'dockerd must start on this machine (package docker.io)').not.toBeNull();
    try {
      const real = dockerCli(dockerd!.host);
      const archive = path.join(dir, 'for-dockerd.tar');
      await docker.run(['image', 'save', '-o', archive, 'busybox', 'app']);
      await real.run(['load', '-i', archive]);
      expect((await real.run(['image', 'inspect', 'busybox', '--format', '{{.Id}}'])).stdout.trim()).toBe(ids.busybox);
      expect((await real.run(['image', 'inspect', 'app:1', '--format', '{{.Id}}'])).stdout.trim()).toBe(ids.app);
    } finally {
      await dockerd?.stop();
    }
  });
});
