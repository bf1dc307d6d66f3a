import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busyboxImage,
  clearRedisPrefix,
  dockerCli,
  pushTestImage,
  startDockerd,
  startRegistry,
  startSystem,
  testRedisUrl,
  uniquePrefix,
  writeDockerArchive,
} from '@cargohold/testing';

const exec = promisify(execFile);
type Cli = ReturnType<typeof dockerCli>;

function writeContext(dir: string, files: Record<string, string>): string {
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/** Every path of a root filesystem with type, mode, owner and content (mtimes are not compared). */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const p = path.join(rel, name);
      const st = lstatSync(path.join(root, p));
      const owner = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
      if (st.isSymbolicLink()) out[p] = `link ${owner} -> ${readlinkSync(path.join(root, p))}`;
      else if (st.isDirectory()) {
        out[p] = `dir ${owner}`;
        walk(p);
      } else out[p] = `file ${owner} ${createHash('sha256').update(readFileSync(path.join(root, p))).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

async function unpack(docker: Cli, ref: string, work: string): Promise<string> {
  const dir = mkdtempSync(path.join(work, 'unpack-'));
  const archive = path.join(dir, 'image.tar');
  await docker.run(['image', 'save', '-o', archive, ref]);
  // Debian's dockerd saves the legacy docker-archive layout only: skopeo turns either save into
  // an OCI layout for umoci, one independent reader for both sides.
  await exec('skopeo', ['--insecure-policy', 'copy', `docker-archive:${archive}`, `oci:${path.join(dir, 'layout')}:img`]);
  await exec('umoci', ['unpack', '--image', `${path.join(dir, 'layout')}:img`, path.join(dir, 'bundle')]);
  return path.join(dir, 'bundle', 'rootfs');
}

/** Builds as a farm runs them: base images from registries, cancellation, a cache shared by builder processes, and dockerd as the reference. */
describe('docker build on a build farm', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-build-farm-'));
    await writeDockerArchive(path.join(dir, 'busybox.tar'), [busyboxImage('busybox:latest')], { format: 'oci' });
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pulls a FROM image through the puller with the credentials docker login stored', async () => {
    const [system, registry] = await Promise.all([startSystem(), startRegistry({ auth: 'htpasswd' })]);
    const docker = dockerCli(system.dockerHost);
    try {
      await pushTestImage(registry, 'base/busybox', '1', busyboxImage('base/busybox:1'));
      await docker.run(['login', registry.host, '-u', 'alice', '--password-stdin'], { input: 'wonderland' });
      const ctx = writeContext(path.join(dir, 'pull-ctx'), { Dockerfile: `FROM ${registry.host}/base/busybox:1\nRUN echo pulled > /pulled\n` });
      const { stdout } = await docker.run(['build', '-t', 'pulled:1', ctx]);
      expect(stdout).toMatch(/Pulling from base\/busybox/);
      expect(stdout).toMatch(/Successfully tagged pulled:1/);
      const parent = (await docker.run(['image', 'inspect', `${registry.host}/base/busybox:1`, '--format', '{{.Id}}'])).stdout.trim();
      expect(parent).toMatch(/^sha256:/);
    } finally {
      await docker.dispose();
      await Promise.all([system.stop(), registry.stop()]);
    }
  });

  it('a client that disconnects cancels its build: the command is killed and nothing is tagged', async () => {
    const system = await startSystem();
    const docker = dockerCli(system.dockerHost);
    const marker = `cargohold-cancel-${Date.now()}`;
    try {
      await docker.run(['load', '-i', path.join(dir, 'busybox.tar')]);
      const ctx = writeContext(path.join(dir, 'cancel-ctx'), { Dockerfile: `FROM busybox\nRUN echo started && sleep 120 && echo ${marker}\n` });
      const started = Date.now();
      const result = await docker.run(['build', '-t', 'cancelled:1', ctx], { allowFailure: true, timeoutMs: 4_000 }).catch((error: Error) => ({ code: -1, stdout: error.message, stderr: '' }));
      expect(result.code).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(30_000);
      // The sandboxed sleep goes with the build, well before it would have finished.
      const deadline = Date.now() + 15_000;
      let alive = true;
      while (alive && Date.now() < deadline) {
        const ps = await exec('pgrep', ['-f', marker]).then(
          (r) => r.stdout.trim(),
          () => '',
        );
        alive = ps !== '';
        if (alive) await new Promise((r) => setTimeout(r, 250));
      }
      expect(alive).toBe(false);
      expect((await docker.run(['image', 'inspect', 'cancelled:1'], { allowFailure: true })).code).not.toBe(0);
    } finally {
      await docker.dispose();
      await system.stop();
    }
  });

  it('a second builder process on the same Redis, database and blobs finds every step in the cache', async () => {
    const shared = mkdtempSync(path.join(dir, 'shared-'));
    const env = { CARGOHOLD_DATA_DIR: shared, REDIS_URL: testRedisUrl(), CARGOHOLD_QUEUE_PREFIX: uniquePrefix('build-farm') };
    const ctx = writeContext(path.join(dir, 'farm-ctx'), {
      Dockerfile: 'FROM busybox\nRUN echo first > /first\nCOPY app.txt /app.txt\nRUN cat /app.txt > /copy\n',
      'app.txt': 'farm\n',
    });
    const first = await startSystem({ env });
    let id: string;
    try {
      const docker = dockerCli(first.dockerHost);
      await docker.run(['load', '-i', path.join(dir, 'busybox.tar')]);
      await docker.run(['build', '-t', 'farm:1', ctx]);
      id = (await docker.run(['image', 'inspect', 'farm:1', '--format', '{{.Id}}'])).stdout.trim();
      await docker.dispose();
    } finally {
      await first.stop();
    }
    // The first system (its gateway and its builder) is gone: only the second builder can take the job.
    const second = await startSystem({ env });
    try {
      const docker = dockerCli(second.dockerHost);
      const { stdout } = await docker.run(['build', '-t', 'farm:2', ctx]);
      expect(stdout.match(/ ---> Using cache/g)?.length).toBe(3);
      expect((await docker.run(['image', 'inspect', 'farm:2', '--format', '{{.Id}}'])).stdout.trim()).toBe(id);
      await docker.dispose();
    } finally {
      await second.stop();
      await clearRedisPrefix(testRedisUrl(), env.CARGOHOLD_QUEUE_PREFIX);
    }
  });

  it('builds the same file tree and config as dockerd’s legacy builder', async () => {
    const dockerd = await startDockerd();
    expect(dockerd, 'dockerd must start on this machine').not.toBeNull();
    const system = await startSystem();
    const ours = dockerCli(system.dockerHost);
    const theirs = dockerCli(dockerd!.host);
    try {
      for (const cli of [ours, theirs]) await cli.run(['load', '-i', path.join(dir, 'busybox.tar')]);
      const ctx = writeContext(path.join(dir, 'diff-ctx'), {
        Dockerfile: [
          'FROM busybox',
          'ENV APP_HOME=/srv/app LANG=C.UTF-8',
          'WORKDIR $APP_HOME',
          'COPY --chown=1000:1000 src/ ./src/',
          'COPY config.ini /etc/app/',
          'RUN mkdir -p data/cache && chmod 1777 data/cache && ln -s src/main.sh run.sh && touch /etc/app/touched && rm /bin/yes',
          'USER 1000:1000',
          'EXPOSE 8080/tcp 53/udp',
          'VOLUME ["/srv/app/data"]',
          'LABEL org.example.name="diff test" version=1',
          'STOPSIGNAL SIGTERM',
          'HEALTHCHECK --interval=30s --timeout=3s CMD ["true"]',
          'ENTRYPOINT ["/bin/sh"]',
          'CMD ["-c", "./run.sh"]',
          '',
        ].join('\n'),
        'src/main.sh': '#!/bin/sh\necho main\n',
        'src/lib/util.sh': 'util() { :; }\n',
        'config.ini': '[app]\nkey=value\n',
      });
      await exec('chmod', ['755', path.join(ctx, 'src/main.sh')]);
      for (const cli of [ours, theirs]) await cli.run(['build', '-t', 'diff:1', ctx]);

      const fields = '{{json .Config.Env}} {{.Config.WorkingDir}} {{.Config.User}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{json .Config.Labels}} {{.Config.StopSignal}} {{json .Config.Healthcheck}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Os}} {{.Architecture}}';
      const [a, b] = await Promise.all([ours, theirs].map(async (cli) => (await cli.run(['image', 'inspect', 'diff:1', '--format', fields])).stdout.trim()));
      expect(a).toBe(b);
      const [treeOurs, treeTheirs] = await Promise.all([ours, theirs].map(async (cli) => tree(await unpack(cli, 'diff:1', dir))));
      expect(treeOurs).toEqual(treeTheirs);
    } finally {
      await ours.dispose();
      await theirs.dispose();
      await system.stop();
      await dockerd?.stop();
    }
  });
});
