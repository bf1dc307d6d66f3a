import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, dockerCli, loadBusybox, startDockerd, startSystem, writeDockerArchive } from '@cargohold/testing';

type System = Awaited<ReturnType<typeof startSystem>>;
type Cli = ReturnType<typeof dockerCli>;

const NOT_SUPPORTED = 'not supported: cargohold stores images and does not run containers';

/**
 * Containers as pins, through the real docker CLI: create, ps, inspect and rm work on records
 * that pin their image; start and run say that nothing runs here; image removal follows
 * dockerd's conflict rules with containers.
 */
describe('docker container commands (containers as pins) through the real docker CLI', () => {
  let system: System;
  let docker: Cli;
  let dir: string;
  let imageId: string;
  const ids: Record<string, string> = {};

  const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
  const ps = async (...args: string[]) => lines((await docker.run(['ps', ...args])).stdout);
  const fail = (args: string[]) => docker.run(args, { allowFailure: true });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-e2e-containers-'));
    system = await startSystem();
    docker = dockerCli(system.dockerHost);
    imageId = (await loadBusybox(docker, dir)).images[0].id;
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('docker create --name web busybox prints the new container ID', async () => {
    const { stdout } = await docker.run(['create', '--name', 'web', 'busybox']);
    expect(stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    ids.web = stdout.trim();
  });

  it('docker ps -a and docker container ls -a list it as Created; docker ps lists nothing', async () => {
    expect(await ps('-a', '--format', '{{.Names}}|{{.Status}}|{{.Image}}|{{.Command}}|{{.ID}}')).toEqual([`web|Created|busybox|"sh"|${ids.web.slice(0, 12)}`]);
    expect(await docker.run(['container', 'ls', '-a', '-q', '--no-trunc']).then((r) => lines(r.stdout))).toEqual([ids.web]);
    expect(await ps('-q')).toEqual([]);
    const table = await ps('-a');
    expect(table[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(table[1]).toMatch(new RegExp(`^${ids.web.slice(0, 12)}\\s+busybox\\s+"sh"\\s+.+ago\\s+Created\\s+web$`));
  });

  it('docker container inspect and docker inspect show the container', async () => {
    const { stdout } = await docker.run(['container', 'inspect', 'web', '--format', '{{.Id}} {{.Name}} {{.State.Status}} {{.Image}} {{.Config.Image}} {{json .Config.Cmd}}']);
    expect(stdout.trim()).toBe(`${ids.web} /web created ${imageId} busybox ["sh"]`);
    const generic = JSON.parse((await docker.run(['inspect', 'web'])).stdout) as Array<{ Id: string; State: { Running: boolean } }>;
    expect(generic).toHaveLength(1);
    expect(generic[0]).toMatchObject({ Id: ids.web, State: { Running: false } });
    const missing = await fail(['container', 'inspect', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No such container: nope');
  });

  it('docker image rm of an image a container uses is refused with dockerd\'s 409 texts, and nothing changes', async () => {
    const byName = await fail(['image', 'rm', 'busybox']);
    expect(byName.code).not.toBe(0);
    expect(lines(byName.stderr)).toContain(
      `Error response from daemon: conflict: unable to remove repository reference "busybox" (must force) - container ${ids.web.slice(0, 12)} is using its referenced image ${imageId.slice(7, 19)}`,
    );
    const byId = await fail(['image', 'rm', imageId.slice(7, 19)]);
    expect(byId.stderr).toContain(`conflict: unable to delete ${imageId.slice(7, 19)} (must be forced) - image is being used by stopped container ${ids.web.slice(0, 12)}`);
    const api = await request(system.url).delete('/v1.47/images/busybox');
    expect(api.status).toBe(409);
    expect((await docker.run(['image', 'inspect', 'busybox', '--format', '{{.Id}}'])).stdout.trim()).toBe(imageId);
    expect(await ps('-a', '--format', '{{.Names}}')).toEqual(['web']);
  });

  it('docker start and docker run fail with the not-supported message', async () => {
    const start = await fail(['start', 'web']);
    expect(start.code).not.toBe(0);
    expect(lines(start.stderr)).toContain(`Error response from daemon: ${NOT_SUPPORTED}`);
    const existing = await ps('-a', '-q', '--no-trunc');
    const run = await fail(['run', '--name', 'ran', 'busybox']);
    expect(run.code).toBe(125);
    expect(lines(run.stderr)).toContain(`docker: Error response from daemon: ${NOT_SUPPORTED}`);
    expect(run.stderr).not.toContain('unable to upgrade');
    const detached = await fail(['run', '-d', 'busybox']);
    expect(detached.code).toBe(125);
    expect(lines(detached.stderr)).toContain(`docker: Error response from daemon: ${NOT_SUPPORTED}`);
    // As after a failed start on dockerd, `run` leaves its container created; `run --rm` does not.
    expect(await ps('-a', '--filter', 'name=^ran$', '--format', '{{.Names}} {{.Status}}')).toEqual(['ran Created']);
    const leftBehind = (await ps('-a', '-q', '--no-trunc')).filter((id) => !existing.includes(id));
    expect(leftBehind).toHaveLength(2);
    const autoRemoved = await fail(['run', '--rm', 'busybox']);
    expect(autoRemoved.stderr).toContain(NOT_SUPPORTED);
    expect((await ps('-a', '-q', '--no-trunc')).filter((id) => !existing.includes(id)).sort()).toEqual([...leftBehind].sort());
    await docker.run(['rm', ...leftBehind]);
    expect(await ps('-a', '-q', '--no-trunc')).toEqual(existing);
  });

  it('start, attach, wait and the other runtime operations answer 501 on the API (404 for an unknown container)', async () => {
    for (const action of ['start', 'attach', 'wait', 'stop', 'kill', 'restart', 'exec']) {
      const res = await request(system.url).post(`/v1.47/containers/web/${action}`);
      expect(res.status, action).toBe(501);
      expect(res.body).toEqual({ message: NOT_SUPPORTED });
      const missing = await request(system.url).post(`/v1.47/containers/nope/${action}`);
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ message: 'No such container: nope' });
    }
    const logs = await fail(['logs', 'web']);
    expect(lines(logs.stderr)).toContain(`Error response from daemon: ${NOT_SUPPORTED}`);
    const stop = await fail(['stop', 'web']);
    expect(lines(stop.stderr)).toContain(`Error response from daemon: ${NOT_SUPPORTED}`);
  });

  it('create with an unknown image is dockerd\'s 404; the CLI says so with --pull never', async () => {
    const api = await request(system.url).post('/v1.47/containers/create').send({ Image: 'nope', Cmd: ['sh'] });
    expect(api.status).toBe(404);
    expect(api.body).toEqual({ message: 'No such image: nope:latest' });
    const cli = await fail(['create', '--pull', 'never', 'nope']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('No such image: nope:latest');
  });

  it('create with an invalid or taken name is dockerd\'s 400 / 409', async () => {
    const api = await request(system.url).post('/v1.47/containers/create').query({ name: 'bad name' }).send({ Image: 'busybox' });
    expect(api.status).toBe(400);
    expect(api.body).toEqual({ message: 'Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed' });
    const cli = await fail(['create', '--name', '_x', 'busybox']);
    expect(cli.stderr).toContain('Invalid container name (_x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
    const taken = await fail(['create', '--name', 'web', 'busybox']);
    expect(lines(taken.stderr)).toContain(
      `Error response from daemon: Conflict. The container name "/web" is already in use by container "${ids.web}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    const empty = await request(system.url).post('/v1.47/containers/create').send({});
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({ message: 'config cannot be empty in order to create a container' });
  });

  it('a container without --name gets a random adjective_surname name', async () => {
    const { stdout } = await docker.run(['create', '-l', 'tier=web', 'busybox', 'echo', 'hello world']);
    ids.generated = stdout.trim();
    const [line] = await ps('-a', '--filter', `id=${ids.generated.slice(0, 12)}`, '--format', '{{.Names}}|{{.Command}}|{{.Labels}}');
    expect(line).toMatch(/^[a-z]+_[a-z]+[0-9]?\|"echo 'hello world'"\|tier=web$/);
  });

  it('docker ps filters: ancestor, id, name, status, label; -l and -n', async () => {
    const all = ['--format', '{{.ID}}'];
    expect(await ps('-a', '--filter', 'ancestor=busybox', ...all)).toEqual([ids.generated.slice(0, 12), ids.web.slice(0, 12)]);
    expect(await ps('-a', '--filter', `ancestor=${imageId.slice(7, 19)}`, ...all)).toHaveLength(2);
    expect(await ps('-a', '--filter', 'ancestor=nope', ...all)).toEqual([]);
    expect(await ps('-a', '--filter', 'name=^web$', ...all)).toEqual([ids.web.slice(0, 12)]);
    expect(await ps('-a', '--filter', `id=${ids.web.slice(0, 8)}`, ...all)).toEqual([ids.web.slice(0, 12)]);
    expect(await ps('--filter', 'status=created', ...all)).toHaveLength(2);
    expect(await ps('-a', '--filter', 'status=running', ...all)).toEqual([]);
    expect(await ps('-a', '--filter', 'label=tier=web', ...all)).toEqual([ids.generated.slice(0, 12)]);
    expect(await ps('-l', ...all)).toEqual([ids.generated.slice(0, 12)]);
    expect(await ps('-n', '2', ...all)).toHaveLength(2);
    const bad = await fail(['ps', '-a', '--filter', 'status=bogus']);
    expect(bad.stderr).toContain("invalid filter 'status=bogus'");
  });

  it('docker image rm -f untags an image a container uses but keeps it (dangling); rm then frees it', async () => {
    const forced = await docker.run(['image', 'rm', '-f', 'busybox']);
    expect(lines(forced.stdout)).toEqual(expect.arrayContaining(['Untagged: busybox:latest']));
    expect(forced.stdout).not.toContain('Deleted:');
    expect((await docker.run(['image', 'inspect', imageId, '--format', '{{.Id}} {{json .RepoTags}}'])).stdout.trim()).toBe(`${imageId} []`);
    expect(await docker.run(['image', 'ls', '--filter', 'dangling=true', '-q', '--no-trunc']).then((r) => lines(r.stdout))).toContain(imageId);
    // The name no longer names the pinned image: ps shows its ID, as dockerd does.
    expect(await ps('-a', '--filter', 'name=^web$', '--format', '{{.Image}}')).toEqual([imageId.slice(7, 19)]);

    expect(lines((await docker.run(['rm', 'web'])).stdout)).toEqual(['web']);
    const gone = await fail(['rm', 'web']);
    expect(gone.stderr).toContain('No such container: web');
    expect(lines((await docker.run(['container', 'rm', '-f', '-v', ids.generated.slice(0, 12)])).stdout)).toEqual([ids.generated.slice(0, 12)]);
    expect(await ps('-a', '-q')).toEqual([]);
    expect(lines((await docker.run(['image', 'rm', imageId.slice(7, 19)])).stdout)).toEqual([`Deleted: ${imageId}`]);
  });
});

const RENAME_FAILED = (name: string) => `Error: failed to rename container named ${name}`;

/**
 * `docker rename`, `docker container prune` and `docker info`'s container counts. Texts are
 * dockerd's (daemon/rename.go, daemon/prune.go, the CLI's prune output), and the last test runs
 * one script against cargohold and a real dockerd and compares what the CLI printed.
 */
describe('docker rename, docker container prune and docker info through the real docker CLI', () => {
  let system: System;
  let docker: Cli;
  let dir: string;
  let imageId: string;

  const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
  const fail = (args: string[]) => docker.run(args, { allowFailure: true });
  const create = async (...args: string[]) => (await docker.run(['create', ...args, 'busybox'])).stdout.trim();
  const names = async () => lines((await docker.run(['ps', '-a', '--format', '{{.Names}}'])).stdout);
  const counts = async () => (await docker.run(['info', '--format', '{{.Containers}} {{.ContainersStopped}} {{.ContainersRunning}} {{.ContainersPaused}}'])).stdout.trim();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-e2e-rename-prune-'));
    system = await startSystem();
    docker = dockerCli(system.dockerHost);
    imageId = (await loadBusybox(docker, dir)).images[0].id;
  }, 300_000);

  afterAll(async () => {
    await docker?.dispose();
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('docker info counts every container as stopped, none running or paused', async () => {
    expect(await counts()).toBe('0 0 0 0');
    await create('--name', 'counted-1');
    await create('--name', 'counted-2');
    expect(await counts()).toBe('2 2 0 0');
    const text = lines((await docker.run(['info'])).stdout);
    expect(text).toEqual(expect.arrayContaining(['Containers: 2', 'Running: 0', 'Paused: 0', 'Stopped: 2']));
    await docker.run(['rm', 'counted-1', 'counted-2']);
    expect(await counts()).toBe('0 0 0 0');
  });

  it('docker rename and docker container rename move the name and keep the container', async () => {
    const id = await create('--name', 'old');
    const renamed = await docker.run(['rename', 'old', 'new']);
    expect([renamed.stdout, renamed.stderr]).toEqual(['', '']);
    expect((await docker.run(['container', 'inspect', 'new', '--format', '{{.Id}} {{.Name}}'])).stdout.trim()).toBe(`${id} /new`);
    await docker.run(['container', 'rename', id.slice(0, 12), 'newer']);
    expect(await names()).toEqual(['newer']);
    // The old name is free again.
    await create('--name', 'old');
    expect(await names()).toEqual(['old', 'newer']);
  });

  it('docker rename fails as dockerd does: unknown, taken, invalid and unchanged names', async () => {
    const taken = (await docker.run(['container', 'inspect', 'newer', '--format', '{{.Id}}'])).stdout.trim();
    const unknown = await fail(['rename', 'nope', 'other']);
    expect(unknown.code).toBe(1);
    expect(lines(unknown.stderr)).toEqual(['Error response from daemon: No such container: nope', RENAME_FAILED('nope')]);
    const conflict = await fail(['rename', 'old', 'newer']);
    expect(conflict.code).toBe(1);
    expect(lines(conflict.stderr)).toEqual([
      `Error response from daemon: Error when allocating new name: Conflict. The container name "/newer" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`,
      RENAME_FAILED('old'),
    ]);
    const invalid = await fail(['rename', 'old', 'bad name']);
    expect(invalid.code).toBe(1);
    expect(lines(invalid.stderr)).toEqual(['Error response from daemon: Error when allocating new name: Invalid container name (/bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed', RENAME_FAILED('old')]);
    const same = await fail(['rename', 'old', 'old']);
    expect(same.code).toBe(1);
    expect(lines(same.stderr)).toEqual(['Error response from daemon: Renaming a container with the same name as its current name', RENAME_FAILED('old')]);
    expect(await names()).toEqual(['old', 'newer']);
  });

  it('POST /containers/{id}/rename answers 204, or dockerd\'s 404 / 409 / 400 with its JSON message', async () => {
    const api = (container: string, name?: string) => request(system.url).post(`/v1.47/containers/${container}/rename`).query(name === undefined ? {} : { name });
    expect((await api('old', 'api-name')).status).toBe(204);
    expect((await api('/api-name', '/old')).status).toBe(204);
    expect(await api('nope', 'x1').then((r) => [r.status, r.body])).toEqual([404, { message: 'No such container: nope' }]);
    expect((await api('old', 'newer')).status).toBe(409);
    expect(await api('old', '_x').then((r) => [r.status, r.body])).toEqual([400, { message: 'Error when allocating new name: Invalid container name (/_x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed' }]);
    expect(await api('old').then((r) => [r.status, r.body])).toEqual([400, { message: 'Neither old nor new names may be empty' }]);
    expect(await names()).toEqual(['old', 'newer']);
  });

  it('docker container prune -f removes what the filters match and prints the CLI\'s report', async () => {
    await docker.run(['rm', 'old', 'newer']);
    const tmp = await create('--name', 'tmp', '-l', 'tier=tmp');
    const web = await create('--name', 'web', '-l', 'tier=web', '-l', 'keep');
    const none = await docker.run(['container', 'prune', '-f', '--filter', 'label=tier=nope']);
    expect(none.stdout).toBe('Total reclaimed space: 0B\n');
    const byLabel = await docker.run(['container', 'prune', '-f', '--filter', 'label=tier=tmp']);
    expect(byLabel.stdout).toBe(`Deleted Containers:\n${tmp}\n\nTotal reclaimed space: 0B\n`);
    const notKeep = await docker.run(['container', 'prune', '-f', '--filter', 'label!=keep']);
    expect(notKeep.stdout).toBe('Total reclaimed space: 0B\n');
    // until: only what was created at or before the cut-off goes.
    const cut = (Date.now() / 1000).toFixed(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const late = await create('--name', 'late');
    const until = await docker.run(['container', 'prune', '-f', '--filter', `until=${cut}`]);
    expect(until.stdout).toBe(`Deleted Containers:\n${web}\n\nTotal reclaimed space: 0B\n`);
    expect(await names()).toEqual(['late']);
    expect((await docker.run(['container', 'prune', '-f', '--filter', 'until=1h'])).stdout).toBe('Total reclaimed space: 0B\n');
    expect((await docker.run(['container', 'prune', '-f'])).stdout).toBe(`Deleted Containers:\n${late}\n\nTotal reclaimed space: 0B\n`);
    expect(await names()).toEqual([]);
  });

  it('prune filters other than label, label! and until are dockerd\'s 400; the API answers PruneReport JSON', async () => {
    await create('--name', 'survivor');
    const bogus = await fail(['container', 'prune', '-f', '--filter', 'name=survivor']);
    expect(bogus.code).toBe(1);
    expect(lines(bogus.stderr)).toEqual(["Error response from daemon: invalid filter 'name'"]);
    const twice = await fail(['container', 'prune', '-f', '--filter', 'until=1h', '--filter', 'until=2h']);
    expect(lines(twice.stderr)).toEqual(['Error response from daemon: more than one until filter specified']);
    const api = await request(system.url).post('/v1.47/containers/prune').query({ filters: '{"label":{"nope":true}}' });
    expect([api.status, api.body]).toEqual([200, { ContainersDeleted: null, SpaceReclaimed: 0 }]);
    expect(await names()).toEqual(['survivor']);
    await docker.run(['rm', 'survivor']);
  });

  it('prune releases the pin: an image untagged with rm -f while pinned can then be removed', async () => {
    const id = await create('--name', 'pinner');
    const forced = await docker.run(['image', 'rm', '-f', 'busybox']);
    expect(lines(forced.stdout)).toContain('Untagged: busybox:latest');
    const blocked = await fail(['image', 'rm', imageId]);
    expect(blocked.stderr).toContain(`image is being used by stopped container ${id.slice(0, 12)}`);
    expect((await docker.run(['container', 'prune', '-f'])).stdout).toBe(`Deleted Containers:\n${id}\n\nTotal reclaimed space: 0B\n`);
    expect(lines((await docker.run(['image', 'rm', imageId])).stdout)).toEqual([`Deleted: ${imageId}`]);
    expect(await counts()).toBe('0 0 0 0');
  });

  it('prints what a real dockerd prints for the same rename, prune and info commands', async () => {
    const dockerd = await startDockerd();
    expect(dockerd, 'dockerd must start on this machine (package docker.io)').not.toBeNull();
    const theirs = dockerCli(dockerd!.host);
    try {
      await docker.run(['load', '-i', path.join(dir, 'busybox.tar')]);
      await theirs.run(['load', '-i', path.join(dir, 'busybox.tar')]);
      const [ours, real] = await Promise.all([script(docker), script(theirs)]);
      expect(ours).toEqual(real);
    } finally {
      await theirs.dispose();
      await dockerd?.stop();
    }
  });
});

/**
 * The same commands for cargohold and dockerd, as a transcript (exit code, stdout, stderr) with
 * container IDs replaced by names and the prune report's IDs sorted (dockerd walks a map).
 * Leaves no containers behind. Only cases where dockerd 20.10 (Debian's) and current moby agree.
 */
async function script(cli: Cli): Promise<string[]> {
  const ids = new Map<string, string>();
  const transcript: string[] = [];
  const step = async (...args: string[]) => {
    const { code, stdout, stderr } = await cli.run(args, { allowFailure: true });
    transcript.push(`$ docker ${args.join(' ')}\n[${code}]\n${stdout}${stderr}`);
    return stdout.trim();
  };
  const create = async (name: string, ...labels: string[]) => ids.set(await step('create', '--name', name, ...labels.flatMap((l) => ['-l', l]), 'busybox'), name);

  await step('info', '--format', '{{.Containers}} {{.ContainersStopped}} {{.ContainersRunning}} {{.ContainersPaused}}');
  await create('alpha', 'x=1', 'y=2');
  await create('beta', 'x=1');
  await create('gamma');
  await step('rename', 'alpha', 'delta');
  await step('rename', 'delta', 'beta');
  await step('rename', 'nope', 'epsilon');
  await step('rename', 'beta', 'bad name');
  await step('rename', 'beta', '/beta');
  await step('rename', 'beta', 'a');
  await step('ps', '-a', '--format', '{{.Names}}');
  await step('info', '--format', '{{.Containers}} {{.ContainersStopped}} {{.ContainersRunning}} {{.ContainersPaused}}');
  // Two label! values: only a container with both is kept.
  await step('container', 'prune', '-f', '--filter', 'label!=x=1', '--filter', 'label!=y=2');
  await step('container', 'prune', '-f', '--filter', 'label=nope');
  await step('ps', '-a', '--format', '{{.Names}}');
  await create('zeta', 'x=1');
  await step('container', 'prune', '-f', '--filter', 'label=x=1');
  await step('info', '--format', '{{.Containers}} {{.ContainersStopped}} {{.ContainersRunning}} {{.ContainersPaused}}');
  return transcript.map((entry) => {
    let out = entry;
    for (const [id, name] of ids) out = out.replaceAll(id, `<${name}>`);
    return out.replace(/(Deleted Containers:\n)([^]*?)(\n\n)/, (_m, head: string, body: string, tail: string) => head + body.split('\n').sort().join('\n') + tail);
  });
}

const ADMIN_TOKEN = 'e2e-containers-admin-token-0123456789abcdef';

/** With CARGOHOLD_AUTH=on: container routes need a valid token; create needs pull on the image. */
describe('container routes with authentication on', () => {
  let system: System;
  let dir: string;
  let reader: string;
  let stranger: string;

  const api = () => request(system.url);
  const as = (token: string, req: request.Test) => req.set('Authorization', `Bearer ${token}`);

  async function createToken(name: string, scopes: Array<{ repository: string; actions: string[] }>): Promise<string> {
    const res = await as(ADMIN_TOKEN, api().post('/api/v1/tokens')).send({ name, scopes });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return (res.body as { token: string }).token;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-e2e-containers-auth-'));
    system = await startSystem({ env: { CARGOHOLD_AUTH: 'on', CARGOHOLD_ADMIN_TOKEN: ADMIN_TOKEN } });
    const archive = path.join(dir, 'busybox.tar');
    await writeDockerArchive(archive, [busyboxImage('busybox:latest')], { format: 'oci' });
    const admin = dockerCli(system.dockerHost);
    writeFileSync(path.join(admin.configDir, 'config.json'), JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${ADMIN_TOKEN}` } }));
    await admin.run(['load', '-i', archive]);
    await admin.dispose();
    reader = await createToken('reader', [{ repository: 'busybox', actions: ['pull'] }]);
    stranger = await createToken('stranger', [{ repository: 'other/*', actions: ['pull', 'push', 'delete'] }]);
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses every container route without a valid token (401) and changes nothing', async () => {
    const create = await api().post('/v1.47/containers/create').query({ name: 'anon' }).send({ Image: 'busybox' });
    expect(create.status).toBe(401);
    for (const req of [api().get('/containers/json?all=1'), api().get('/containers/anon/json'), api().delete('/containers/anon'), api().post('/containers/anon/start')]) {
      expect((await req).status).toBe(401);
    }
    expect((await as(ADMIN_TOKEN, api().get('/containers/json?all=1'))).body).toEqual([]);
  });

  it('create needs pull on the image\'s repository (403 otherwise, nothing created)', async () => {
    const refused = await as(stranger, api().post('/v1.47/containers/create').query({ name: 'nope' })).send({ Image: 'busybox' });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('access denied: the token "stranger" may not pull from repository "busybox"');
    const created = await as(reader, api().post('/v1.47/containers/create').query({ name: 'pinned' })).send({ Image: 'busybox' });
    expect(created.status).toBe(201);
    expect((await as(stranger, api().get('/containers/json?all=1'))).body.map((c: { Names: string[] }) => c.Names[0])).toEqual(['/pinned']);
  });

  it('any valid token may inspect and remove a container', async () => {
    expect((await as(stranger, api().get('/containers/pinned/json'))).status).toBe(200);
    expect((await as(stranger, api().post('/containers/pinned/start'))).status).toBe(501);
    expect((await as(stranger, api().delete('/containers/pinned'))).status).toBe(204);
    expect((await as(reader, api().get('/containers/pinned/json'))).status).toBe(404);
  });
});
