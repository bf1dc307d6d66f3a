import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfs, dockerCli, startSystem } from '@cargohold/testing';

type System = Awaited<ReturnType<typeof startSystem>>;

/** docker import: a root filesystem tar becomes a one-layer image, with --change and -m. */
describe('docker import through the real docker CLI', () => {
  let system: System;
  let docker: ReturnType<typeof dockerCli>;
  let dir: string;
  let rootfsTar: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-import-'));
    const root = await busyboxRootfs(path.join(dir, 'rootfs'));
    rootfsTar = path.join(dir, 'rootfs.tar');
    execFileSync('tar', ['-C', root, '-cf', rootfsTar, '.']);
    execFileSync('gzip', ['-k', rootfsTar]);
    system = await startSystem();
    docker = dockerCli(system.dockerHost);
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports a plain tar with changes and a message', async () => {
    const { stdout } = await docker.run([
      'import',
      '--change', 'CMD ["/bin/sh", "-c", "echo hi"]',
      '--change', 'ENV A=1 B="two words"',
      '--change', 'WORKDIR /srv',
      '--change', 'EXPOSE 8080/tcp',
      '-m', 'from the test',
      rootfsTar,
      'imported/bb:1',
    ]);
    const id = stdout.trim();
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    const inspect = JSON.parse((await docker.run(['image', 'inspect', 'imported/bb:1'])).stdout)[0];
    expect(inspect.Id).toBe(id);
    expect(inspect.Config.Cmd).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(inspect.Config.Env).toEqual(expect.arrayContaining(['A=1', 'B=two words']));
    expect(inspect.Config.WorkingDir).toBe('/srv');
    expect(Object.keys(inspect.Config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(inspect.RootFS.Layers).toHaveLength(1);
    const history = (await docker.run(['image', 'history', '--format', '{{.Comment}}', 'imported/bb:1'])).stdout.trim();
    expect(history).toBe('from the test');
  });

  it('imports a gzip tar', async () => {
    const { stdout } = await docker.run(['import', `${rootfsTar}.gz`, 'imported/gz:1']);
    expect((await docker.run(['image', 'inspect', 'imported/gz:1', '--format', '{{.Id}}'])).stdout.trim()).toBe(stdout.trim());
  });

  it('refuses an unknown change and a hostile tar, changing nothing', async () => {
    const before = (await docker.run(['image', 'ls', '-q'])).stdout;
    const bad = await docker.run(['import', '--change', 'RUN rm -rf /', rootfsTar, 'imported/bad:1'], { allowFailure: true });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('RUN is not a valid change command');
    const evil = path.join(dir, 'evil.tar');
    writeFileSync(path.join(dir, 'evil'), 'x');
    execFileSync('tar', ['-C', dir, '-cf', evil, '--transform', 's,^evil,../../evil,', 'evil']);
    const res = await request(system.url).post('/images/create').query({ fromSrc: '-', repo: 'imported/evil' }).set('content-type', 'application/x-tar').send(readFileSync(evil));
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/\.\.\/\.\.\/evil/);
    expect((await docker.run(['image', 'ls', '-q'])).stdout).toBe(before);
  });
});
