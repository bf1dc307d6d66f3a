import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busyboxImage,
  dockerCli,
  multiLayerImage,
  pushTestImage,
  pushTestIndex,
  startDockerd,
  startRegistry,
  startSystem,
  startTamperingProxy,
  type FixtureImage,
  type PushedTestImage,
  type PushedTestIndex,
  type TestRegistry,
} from '@cargohold/testing';

const exec = promisify(execFile);

/** Two layers of content no other image in these tests has. */
function uniqueImage(name: string): FixtureImage {
  return {
    repoTags: [`${name}:1`],
    layers: [
      { files: [{ path: `${name}/a.txt`, content: `${name} first layer ${Date.now()}` }] },
      { files: [{ path: `${name}/b.bin`, content: Buffer.alloc(256 * 1024, name.length) }] },
    ],
  };
}
type System = Awaited<ReturnType<typeof startSystem>>;

/** docker pull / push / login against real registries (Debian's docker-registry), no internet. */
describe('pull, push and login through the real docker CLI', () => {
  let system: System;
  let docker: ReturnType<typeof dockerCli>;
  let open: TestRegistry;
  let basic: TestRegistry;
  let token: TestRegistry;
  let bb: PushedTestImage;
  let bb1: PushedTestImage;
  let multi: PushedTestImage;
  let index: PushedTestIndex;
  let dir: string;

  const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
  const idOf = async (ref: string) => (await docker.run(['image', 'inspect', ref, '--format', '{{.Id}}'])).stdout.trim();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-pull-'));
    [system, open, basic, token] = await Promise.all([startSystem(), startRegistry(), startRegistry({ auth: 'htpasswd' }), startRegistry({ auth: 'token' })]);
    docker = dockerCli(system.dockerHost);
    bb = await pushTestImage(open, 'bb', 'latest', busyboxImage('bb:latest'));
    bb1 = await pushTestImage(open, 'bb', '1.0', multiLayerImage('bb:1.0', 2));
    multi = await pushTestImage(open, 'team/multi', '1', multiLayerImage('multi:1', 3), { format: 'oci' });
    index = await pushTestIndex(open, 'multiarch', '1');
    await pushTestImage(basic, 'private/bb', 'latest', busyboxImage('private:latest'));
    await pushTestImage(token, 'tok/bb', 'latest', busyboxImage('tok:latest'));
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    await Promise.all([open?.stop(), basic?.stop(), token?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('docker pull by tag prints dockerd\'s status lines and stores the image', async () => {
    const { stdout } = await docker.run(['pull', `${open.host}/bb:latest`]);
    const out = lines(stdout);
    expect(out[0]).toBe('latest: Pulling from bb');
    expect(out.some((l) => /^[a-f0-9]{12}: Pull complete$/.test(l))).toBe(true);
    expect(out).toContain(`Digest: ${bb.manifestDigest}`);
    expect(out).toContain(`Status: Downloaded newer image for ${open.host}/bb:latest`);
    expect(out.at(-1)).toBe(`${open.host}/bb:latest`);
    expect(await idOf(`${open.host}/bb:latest`)).toBe(bb.configDigest);
    const digests = (await docker.run(['image', 'inspect', `${open.host}/bb`, '--format', '{{json .RepoDigests}}'])).stdout;
    expect(JSON.parse(digests)).toEqual([`${open.host}/bb@${bb.manifestDigest}`]);
    const layers = (await docker.run(['image', 'inspect', `${open.host}/bb`, '--format', '{{json .RootFS.Layers}}'])).stdout;
    expect(JSON.parse(layers)).toEqual(bb.diffIds);
  });

  it('a second pull is up to date', async () => {
    const { stdout } = await docker.run(['pull', `${open.host}/bb:latest`]);
    expect(lines(stdout)).toContain(`Status: Image is up to date for ${open.host}/bb:latest`);
  });

  it('docker pull by digest', async () => {
    const ref = `${open.host}/team/multi@${multi.manifestDigest}`;
    const { stdout } = await docker.run(['pull', ref]);
    expect(lines(stdout)).toContain(`Digest: ${multi.manifestDigest}`);
    expect(await idOf(ref)).toBe(multi.configDigest);
  });

  it('docker pull -a pulls every tag', async () => {
    await docker.run(['pull', '-a', `${open.host}/bb`]);
    const tags = lines((await docker.run(['image', 'ls', `${open.host}/bb`, '--format', '{{.Tag}} {{.ID}}'])).stdout).sort();
    expect(tags).toEqual([`1.0 ${bb1.configDigest.slice(7, 19)}`, `latest ${bb.configDigest.slice(7, 19)}`]);
  });

  it('picks the platform from an OCI index', async () => {
    const [amd64, arm64] = index.manifests;
    await docker.run(['pull', '--platform', 'linux/arm64', `${open.host}/multiarch:1`]);
    expect(await idOf(`${open.host}/multiarch:1`)).toBe(arm64.configDigest);
    await docker.run(['pull', '--platform', 'linux/amd64', `${open.host}/multiarch:1`]);
    expect(await idOf(`${open.host}/multiarch:1`)).toBe(amd64.configDigest);
    const missing = await docker.run(['pull', '--platform', 'linux/s390x', `${open.host}/multiarch:1`], { allowFailure: true });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no matching manifest for linux/s390x');
  });

  it('a missing tag is dockerd\'s 404', async () => {
    const out = await docker.run(['pull', `${open.host}/bb:nope`], { allowFailure: true });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(`manifest for ${open.host}/bb:nope not found`);
    const res = await request(system.url).post('/images/create').query({ fromImage: `${open.host}/bb`, tag: 'nope' });
    expect(res.status).toBe(404);
    expect(res.body.message).toContain('manifest unknown');
  });

  it('docker login with htpasswd Basic auth: refused, then accepted, then pull works', async () => {
    // Without credentials the registry's 401 comes back as dockerd's 401 (through the CLI, that
    // status makes it prompt for a login on its terminal, so ask the API directly).
    const denied = await request(system.url).post('/images/create').query({ fromImage: `${basic.host}/private/bb`, tag: 'latest' });
    expect(denied.status).toBe(401);
    expect(denied.body.message).toMatch(/unauthorized|authentication required/i);
    const bad = await docker.run(['login', basic.host, '-u', 'alice', '--password-stdin'], { input: 'wrong\n', allowFailure: true });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/401|unauthorized/i);
    const ok = await docker.run(['login', basic.host, '-u', 'alice', '--password-stdin'], { input: 'wonderland\n' });
    expect(ok.stdout).toContain('Login Succeeded');
    await docker.run(['pull', `${basic.host}/private/bb:latest`]);
    expect(await idOf(`${basic.host}/private/bb:latest`)).toBeTruthy();
  });

  it('the Bearer token flow: anonymous pull, login, authenticated push', async () => {
    await docker.run(['pull', `${token.host}/tok/bb:latest`]);
    await docker.run(['tag', `${token.host}/tok/bb:latest`, `${token.host}/tok/pushed:1`]);
    // As dockerd: the push starts streaming, then fails in the stream with the registry's denial.
    const anonymous = await fetch(`${system.url}/images/${token.host}/tok/pushed/push?tag=1`, {
      method: 'POST',
      headers: { 'X-Registry-Auth': Buffer.from('{}').toString('base64') },
    });
    const streamed = (await anonymous.text()).trim().split('\n').map((l) => JSON.parse(l) as { status?: string; errorDetail?: { message: string } });
    expect(streamed[0].status).toBe(`The push refers to repository [${token.host}/tok/pushed]`);
    expect(streamed.at(-1)?.errorDetail?.message).toMatch(/denied|unauthorized|authentication required/i);
    const bad = await docker.run(['login', token.host, '-u', 'alice', '--password-stdin'], { input: 'nope\n', allowFailure: true });
    expect(bad.code).not.toBe(0);
    await docker.run(['login', token.host, '-u', 'alice', '--password-stdin'], { input: 'wonderland\n' });
    const pushed = await docker.run(['push', `${token.host}/tok/pushed:1`]);
    expect(pushed.stdout).toMatch(/1: digest: sha256:[a-f0-9]{64} size: \d+/);
  });

  it('docker push to a new repository, read back with skopeo', async () => {
    await docker.run(['tag', `${open.host}/team/multi@${multi.manifestDigest}`, `${open.host}/pushed/app:v1`]);
    const { stdout } = await docker.run(['push', `${open.host}/pushed/app:v1`]);
    const out = lines(stdout);
    expect(out[0]).toBe(`The push refers to repository [${open.host}/pushed/app]`);
    expect(out.some((l) => /: (Pushed|Mounted from team\/multi|Layer already exists)$/.test(l))).toBe(true);
    const digestLine = out.find((l) => l.startsWith('v1: digest: '));
    expect(digestLine).toMatch(/^v1: digest: sha256:[a-f0-9]{64} size: \d+$/);
    const digest = digestLine!.split(' ')[2];
    const { stdout: inspected } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${open.host}/pushed/app:v1`]);
    const info = JSON.parse(inspected) as { Digest: string; Layers: string[] };
    expect(info.Digest).toBe(digest);
    expect(info.Layers).toEqual(multi.layers.map((l) => l.digest));
    const again = await docker.run(['push', `${open.host}/pushed/app:v1`]);
    expect(again.stdout).toContain('Layer already exists');
  });

  it('a registry serving a corrupted blob is refused and nothing is stored', async () => {
    // Layers no other test pulled, so they really are downloaded (through the corrupting proxy).
    await pushTestImage(open, 'corrupt/img', '1', uniqueImage('corrupt'));
    const proxy = await startTamperingProxy(open.url, { corruptBlobs: true });
    try {
      const ref = `${proxy.host}/corrupt/img:1`;
      const out = await docker.run(['pull', ref], { allowFailure: true });
      expect(out.code).not.toBe(0);
      expect(out.stdout + out.stderr).toMatch(/digest|checksum|mismatch/i);
      const inspect = await docker.run(['image', 'inspect', ref], { allowFailure: true });
      expect(inspect.code).not.toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it('shows the same status lines as a real dockerd pulling the same image', async () => {
    const dockerd = await startDockerd();
    expect(dockerd, 'dockerd must start on this machine').not.toBeNull();
    try {
      const real = dockerCli(dockerd!.host);
      await pushTestImage(open, 'compare/img', '1', uniqueImage('compare'));
      const ref = `${open.host}/compare/img:1`;
      const theirs = lines((await real.run(['pull', ref])).stdout);
      const ours = lines((await docker.run(['pull', ref])).stdout);
      // Layer ids are the same digests on both sides; layers finish in any order, so compare the
      // sets of lines. dockerd hands its watchers only a transfer's latest status, so for a fast
      // layer it may skip the intermediate ones ("Verifying Checksum", "Download complete"):
      // those must be ours, the rest must match exactly.
      const transient = (l: string) => l.endsWith(': Verifying Checksum') || l.endsWith(': Download complete');
      const distinct = (out: string[]) => [...new Set(out.filter((l) => !transient(l)))].sort();
      expect(theirs.filter(transient).every((l) => ours.includes(l))).toBe(true);
      for (const done of ours.filter((l) => l.endsWith(': Pull complete'))) expect(ours).toContain(done.replace('Pull complete', 'Download complete'));
      expect(distinct(ours)).toEqual(distinct(theirs));
    } finally {
      await dockerd?.stop();
    }
  });
});
