import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, loadBusybox, startSystem, type SystemHandle } from '@cargohold/testing';

const exec = promisify(execFile);
type Cli = ReturnType<typeof dockerCli>;

/** Writes a build context: `files` maps context paths to contents. */
function context(root: string, name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/**
 * `docker build` (DOCKER_BUILDKIT=0) through the real docker CLI against a running cargohold;
 * results are read back with `docker save` and unpacked with umoci, an independent OCI reader.
 */
describe('docker build through the real docker CLI', () => {
  let system: SystemHandle;
  let docker: Cli;
  let dir: string;

  const build = (args: string[], allowFailure = false) => docker.run(['build', ...args], { allowFailure, timeoutMs: 180_000 });
  const inspect = async (ref: string, format: string) => (await docker.run(['image', 'inspect', ref, '--format', format])).stdout.trim();

  /** The image's root filesystem, unpacked by umoci from `docker save`. */
  async function unpack(ref: string): Promise<string> {
    const work = mkdtempSync(path.join(dir, 'unpack-'));
    const archive = path.join(work, 'image.tar');
    await docker.run(['image', 'save', '-o', archive, ref]);
    const layout = path.join(work, 'layout');
    mkdirSync(layout);
    await exec('tar', ['-xf', archive, '-C', layout]);
    const tag = ref.includes(':') ? ref.slice(ref.lastIndexOf(':') + 1) : 'latest';
    await exec('umoci', ['unpack', '--image', `${layout}:${tag}`, path.join(work, 'bundle')]);
    return path.join(work, 'bundle', 'rootfs');
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-build-'));
    system = await startSystem();
    docker = dockerCli(system.dockerHost);
    await loadBusybox(docker, dir);
  }, 300_000);

  afterAll(async () => {
    await docker?.dispose();
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds RUN, COPY, ENV, WORKDIR, CMD with two tags and prints what the legacy builder prints', async () => {
    const ctx = context(dir, 'basic', {
      Dockerfile: [
        'FROM busybox',
        'ENV GREETING=hello',
        'WORKDIR /app',
        'COPY hello.txt ./',
        'RUN echo "$GREETING from run" > /app/run.txt && mkdir -p /data && chmod 700 /data',
        'CMD ["cat", "/app/run.txt"]',
        '',
      ].join('\n'),
      'hello.txt': 'hello from the context\n',
    });
    const { stdout } = await build(['-t', 'app:1', '-t', 'app:latest', ctx]);
    expect(stdout).toContain('Step 1/6 : FROM busybox');
    expect(stdout).toContain('Step 5/6 : RUN echo "$GREETING from run" > /app/run.txt && mkdir -p /data && chmod 700 /data');
    expect(stdout).toMatch(/ ---> Running in [0-9a-f]{12}/);
    expect(stdout).toMatch(/Successfully built [0-9a-f]{12}/);
    expect(stdout).toContain('Successfully tagged app:1');
    expect(stdout).toContain('Successfully tagged app:latest');

    expect(await inspect('app:1', '{{.Id}}')).toBe(await inspect('app:latest', '{{.Id}}'));
    expect(await inspect('app:1', '{{json .Config.Cmd}}')).toBe('["cat","/app/run.txt"]');
    expect(await inspect('app:1', '{{.Config.WorkingDir}}')).toBe('/app');
    expect(await inspect('app:1', '{{json .Config.Env}}')).toContain('GREETING=hello');

    const rootfs = await unpack('app:1');
    expect(readFileSync(path.join(rootfs, 'app/hello.txt'), 'utf8')).toBe('hello from the context\n');
    expect(readFileSync(path.join(rootfs, 'app/run.txt'), 'utf8')).toBe('hello from run\n');
    expect(statSync(path.join(rootfs, 'data')).mode & 0o777).toBe(0o700);
    expect(existsSync(path.join(rootfs, 'bin/busybox'))).toBe(true);
  });

  it('a second build of the same context is all cache hits and yields the same image', async () => {
    const first = await inspect('app:1', '{{.Id}}');
    const { stdout } = await build(['-t', 'app:again', path.join(dir, 'basic')]);
    expect(stdout.match(/ ---> Using cache/g)?.length).toBe(5);
    expect(stdout).not.toContain('Running in');
    expect(await inspect('app:again', '{{.Id}}')).toBe(first);
  });

  it('an edited context file misses the cache from its COPY on, and the image holds the new content', async () => {
    const ctx = context(dir, 'basic-edited', {
      Dockerfile: readFileSync(path.join(dir, 'basic', 'Dockerfile'), 'utf8'),
      'hello.txt': 'hello, edited\n',
    });
    const { stdout } = await build(['-t', 'app:edited', ctx]);
    // ENV and WORKDIR come from the cache; COPY, RUN and CMD run again.
    expect(stdout.match(/ ---> Using cache/g)?.length).toBe(2);
    expect(readFileSync(path.join(await unpack('app:edited'), 'app/hello.txt'), 'utf8')).toBe('hello, edited\n');
  });

  it('a context the gateway cannot index as it streams in (a hard link) is extracted up front and builds the same way', async () => {
    const ctx = context(dir, 'hardlinked', {
      Dockerfile: ['FROM busybox', 'COPY . /ctx/', 'RUN cat /ctx/one.txt /ctx/two.txt > /both.txt', ''].join('\n'),
      'one.txt': 'same inode\n',
    });
    await exec('ln', [path.join(ctx, 'one.txt'), path.join(ctx, 'two.txt')]);
    await build(['-t', 'hardlinked:1', ctx]);
    const again = await build(['-t', 'hardlinked:1', ctx]);
    expect(again.stdout.match(/ ---> Using cache/g)?.length).toBe(2);
    expect(readFileSync(path.join(await unpack('hardlinked:1'), 'both.txt'), 'utf8')).toBe('same inode\nsame inode\n');
  });

  it('shows intermediate images with -a and each step in history', async () => {
    const all = (await docker.run(['image', 'ls', '-a', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n');
    expect(all.filter((l) => l === '<none>:<none>').length).toBeGreaterThanOrEqual(4);
    const history = (await docker.run(['image', 'history', '--no-trunc', '--format', '{{.CreatedBy}}', 'app:1'])).stdout;
    expect(history).toContain('echo "$GREETING from run"');
    expect(history).toContain('WORKDIR /app');
  });

  it('reports a failing RUN with the legacy builder text and tags nothing', async () => {
    const ctx = context(dir, 'failing', { Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 3\n' });
    const result = await build(['-t', 'failing:1', ctx], true);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('about to fail');
    expect(result.stderr).toContain("The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3");
    expect((await docker.run(['image', 'inspect', 'failing:1'], { allowFailure: true })).code).not.toBe(0);
  });

  it('--memory stops a RUN that needs more (exit 137, nothing tagged); --shm-size sizes /dev/shm; bad limits get dockerd\'s texts', async () => {
    const hungry = context(dir, 'hungry', { Dockerfile: 'FROM busybox\nRUN head -c 256m /dev/zero | tail > /dev/null\n' });
    const killed = await build(['--memory', '32m', '--memory-swap', '32m', '-t', 'hungry:1', hungry], true);
    expect(killed.code).not.toBe(0);
    expect(killed.stderr).toContain("The command '/bin/sh -c head -c 256m /dev/zero | tail > /dev/null' returned a non-zero code: 137");
    expect((await docker.run(['image', 'inspect', 'hungry:1'], { allowFailure: true })).code).not.toBe(0);

    const shm = context(dir, 'shm', { Dockerfile: 'FROM busybox\nRUN df -k /dev/shm | tail -n 1\n' });
    expect((await build(['--shm-size', '16m', '--cpu-shares', '512', '--cpu-period', '100000', '--cpu-quota', '50000', shm])).stdout).toMatch(/\s16384\s/);

    const tiny = await build(['--memory', '4m', shm], true);
    expect(tiny.code).not.toBe(0);
    expect(tiny.stderr).toContain('Minimum memory limit allowed is 6MB');
  });

  it('reports a Dockerfile syntax error with its line', async () => {
    const ctx = context(dir, 'syntax', { Dockerfile: 'FROM busybox\nFRM busybox\n' });
    const result = await build([ctx], true);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/line 2: unknown instruction: FRM/i);
  });

  it('multi-stage with --target, COPY --from, build args, --label, .dockerignore and -f at another path', async () => {
    const ctx = context(dir, 'multi', {
      'ci/Dockerfile': [
        'ARG BASE=busybox',
        'FROM ${BASE} AS builder',
        'ARG VERSION=0.0.0',
        'RUN mkdir /out && echo "version $VERSION" > /out/version.txt',
        'COPY src/ /src/',
        'FROM busybox AS unused',
        'RUN exit 1',
        'FROM busybox AS final',
        'COPY --from=builder /out/version.txt /version.txt',
        'COPY --from=builder /src /app/src',
        'LABEL stage=final',
        'FROM final AS later',
        'RUN echo never',
        '',
      ].join('\n'),
      '.dockerignore': 'src/*.log\n!src/keep.log\n',
      'src/main.sh': 'echo main\n',
      'src/debug.log': 'ignored\n',
      'src/keep.log': 'kept\n',
    });
    const { stdout } = await build(['-f', path.join(ctx, 'ci/Dockerfile'), '--target', 'final', '--build-arg', 'VERSION=1.2.3', '--label', 'org.example.ci=yes', '-t', 'multi:1', ctx]);
    expect(stdout).not.toContain('RUN exit 1');
    expect(stdout).not.toContain('RUN echo never');
    expect(await inspect('multi:1', '{{json .Config.Labels}}')).toBe('{"org.example.ci":"yes","stage":"final"}');
    const rootfs = await unpack('multi:1');
    expect(readFileSync(path.join(rootfs, 'version.txt'), 'utf8')).toBe('version 1.2.3\n');
    expect(readFileSync(path.join(rootfs, 'app/src/main.sh'), 'utf8')).toBe('echo main\n');
    expect(existsSync(path.join(rootfs, 'app/src/debug.log'))).toBe(false);
    expect(readFileSync(path.join(rootfs, 'app/src/keep.log'), 'utf8')).toBe('kept\n');
  });

  it('--no-cache runs every step again; --squash leaves one layer on top of the base', async () => {
    const ctx = path.join(dir, 'basic');
    const { stdout } = await build(['--no-cache', '-t', 'app:nocache', ctx]);
    expect(stdout).not.toContain('Using cache');
    const baseLayers = JSON.parse(await inspect('busybox', '{{json .RootFS.Layers}}')) as string[];
    const before = JSON.parse(await inspect('app:1', '{{json .RootFS.Layers}}')) as string[];
    expect(before.length).toBeGreaterThan(baseLayers.length + 1);
    await build(['--squash', '-t', 'app:squashed', ctx]);
    const squashed = JSON.parse(await inspect('app:squashed', '{{json .RootFS.Layers}}')) as string[];
    expect(squashed.slice(0, baseLayers.length)).toEqual(baseLayers);
    expect(squashed).toHaveLength(baseLayers.length + 1);
    const rootfs = await unpack('app:squashed');
    expect(readFileSync(path.join(rootfs, 'app/run.txt'), 'utf8')).toBe('hello from run\n');
    expect(readFileSync(path.join(rootfs, 'app/hello.txt'), 'utf8')).toBe('hello from the context\n');
  });

  it('re-building a tag leaves the old image dangling', async () => {
    const ctx = context(dir, 'retag', { Dockerfile: 'FROM busybox\nRUN echo one > /n\n' });
    await build(['-t', 'retag:1', ctx]);
    const old = await inspect('retag:1', '{{.Id}}');
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo two > /n\n');
    await build(['-t', 'retag:1', ctx]);
    expect(await inspect('retag:1', '{{.Id}}')).not.toBe(old);
    const dangling = (await docker.run(['image', 'ls', '-q', '--no-trunc', '--filter', 'dangling=true'])).stdout;
    expect(dangling).toContain(old);
  });

  it('runs ONBUILD triggers of the base image in the child build', async () => {
    const parent = context(dir, 'onbuild-parent', { Dockerfile: 'FROM busybox\nONBUILD RUN echo triggered > /trigger.txt\n' });
    await build(['-t', 'onbuild-parent:1', parent]);
    const child = context(dir, 'onbuild-child', { Dockerfile: 'FROM onbuild-parent:1\nRUN cat /trigger.txt\n' });
    const { stdout } = await build(['-t', 'onbuild-child:1', child]);
    expect(stdout).toContain('# Executing 1 build trigger');
    expect(await inspect('onbuild-child:1', '{{json .Config.OnBuild}}')).toBe('null');
    const rootfs = await unpack('onbuild-child:1');
    expect(readFileSync(path.join(rootfs, 'trigger.txt'), 'utf8')).toBe('triggered\n');
  });

  it('ADD extracts a local tar archive', async () => {
    const ctx = context(dir, 'add', { Dockerfile: 'FROM busybox\nADD files.tar.gz /opt/\n', 'payload/a.txt': 'from the archive\n' });
    await exec('tar', ['-czf', path.join(ctx, 'files.tar.gz'), '-C', path.join(ctx, 'payload'), 'a.txt']);
    await build(['-t', 'add:1', ctx]);
    const rootfs = await unpack('add:1');
    expect(readFileSync(path.join(rootfs, 'opt/a.txt'), 'utf8')).toBe('from the archive\n');
  });

  it('refuses COPY from outside the context and reports it at the step', async () => {
    const ctx = context(dir, 'escape', { Dockerfile: 'FROM busybox\nCOPY ../../etc/passwd /stolen\n' });
    const result = await build(['-t', 'escape:1', ctx], true);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/forbidden path outside the build context|file not found in build context/);
    expect((await docker.run(['image', 'inspect', 'escape:1'], { allowFailure: true })).code).not.toBe(0);
  });

  it('SHELL, RUN heredocs, ADD from a URL, VOLUME, STOPSIGNAL and HEALTHCHECK', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/artifact.txt') res.end('downloaded by ADD\n');
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    try {
      const ctx = context(dir, 'families', {
        Dockerfile: [
          'FROM busybox',
          'SHELL ["/bin/sh", "-e", "-c"]',
          'RUN <<EOF',
          'echo from a heredoc > /heredoc.txt',
          'echo "shell is $0" >> /heredoc.txt',
          'EOF',
          `ADD http://127.0.0.1:${port}/artifact.txt /opt/artifact.txt`,
          'VOLUME /data',
          'STOPSIGNAL SIGINT',
          'HEALTHCHECK --interval=5s --retries=2 CMD ["true"]',
          '',
        ].join('\n'),
      });
      await build(['-t', 'families:1', ctx]);
      expect(await inspect('families:1', '{{json .Config.Shell}}')).toBe('["/bin/sh","-e","-c"]');
      expect(await inspect('families:1', '{{json .Config.Volumes}}')).toBe('{"/data":{}}');
      expect(await inspect('families:1', '{{.Config.StopSignal}}')).toBe('SIGINT');
      expect(await inspect('families:1', '{{json .Config.Healthcheck}}')).toBe('{"Test":["CMD","true"],"Interval":5000000000,"Retries":2}');
      const rootfs = await unpack('families:1');
      expect(readFileSync(path.join(rootfs, 'heredoc.txt'), 'utf8')).toBe('from a heredoc\nshell is /bin/sh\n');
      expect(readFileSync(path.join(rootfs, 'opt/artifact.txt'), 'utf8')).toBe('downloaded by ADD\n');
    } finally {
      server.close();
    }
  });

  it('--cache-from reuses the layers of an image built from the same steps, with the build cache emptied', async () => {
    const ctx = context(dir, 'cachefrom', { Dockerfile: 'FROM busybox\nRUN echo slow step > /slow\nCOPY data.txt /data.txt\nRUN cat /data.txt >> /slow\n', 'data.txt': 'data\n' });
    await build(['-t', 'cachefrom:1', ctx]);
    await docker.run(['builder', 'prune', '-f']);
    const reused = await build(['--cache-from', 'cachefrom:1', '-t', 'cachefrom:2', ctx]);
    expect(reused.stdout.match(/ ---> Using cache/g)?.length).toBe(3);
    expect(reused.stdout).not.toContain('Running in');
    expect(await inspect('cachefrom:2', '{{json .RootFS.Layers}}')).toBe(await inspect('cachefrom:1', '{{json .RootFS.Layers}}'));
    const rootfs = await unpack('cachefrom:2');
    expect(readFileSync(path.join(rootfs, 'slow'), 'utf8')).toBe('slow step\ndata\n');

    // Without it, the emptied cache means the steps run again.
    await docker.run(['builder', 'prune', '-f']);
    const rebuilt = await build(['-t', 'cachefrom:3', ctx]);
    expect(rebuilt.stdout).toContain('Running in');
  });

  it('WORKDIR through a symlink the image holds stays inside the image', async () => {
    const name = `cargohold-workdir-${Date.now()}`;
    const ctx = context(dir, 'workdir-link', { Dockerfile: `FROM busybox\nRUN ln -s /etc /app\nWORKDIR /app/${name}\n` });
    await build(['-t', 'workdir-link:1', ctx]);
    expect(existsSync(`/etc/${name}`)).toBe(false);
    const rootfs = await unpack('workdir-link:1');
    expect(statSync(path.join(rootfs, 'etc', name)).isDirectory()).toBe(true);
  });
});

