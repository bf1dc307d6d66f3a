import { lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PATH, runInSandbox, SandboxError, sandboxAvailable } from './index';
import { createBusyboxRoot, requireBusybox } from './testing/busybox-root';
import { type CaptureInput, type Captured, captureRun, sh } from './testing/capture';

let scratch: string;
let shared: string;

async function freshRoot(): Promise<string> {
  return createBusyboxRoot(await mkdtemp(path.join(scratch, 'root-')));
}

const capture = (input: CaptureInput): Promise<Captured> => captureRun(shared, input);

async function rejection(promise: Promise<unknown>): Promise<SandboxError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SandboxError) return err;
    throw err;
  }
  throw new Error('expected a SandboxError, but the run succeeded');
}

/** Host processes that belong to a sandbox: chrooted into `root`, or carrying `marker`. */
function survivors(root: string, marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(marker) || readlinkSync(`/proc/${pid}/root`) === root) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone meanwhile, or not ours to inspect
    }
  }
  return found;
}

type Listing = Map<string, string>;

/** Every entry under `root` with type, mode, owner, size, link target and mtime (ns). */
async function snapshot(root: string): Promise<Listing> {
  const out: Listing = new Map();
  const walk = async (dir: string): Promise<void> => {
    const st = await lstat(dir, { bigint: true });
    const rel = '/' + path.relative(root, dir);
    const link = st.isSymbolicLink() ? ` -> ${await readlink(dir)}` : '';
    out.set(rel, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '-' : st.size} ${st.mtimeNs}${link}`);
    if (st.isDirectory()) for (const name of (await readdir(dir)).sort()) await walk(path.join(dir, name));
  };
  await walk(root);
  return out;
}

function diff(before: Listing, after: Listing): string[] {
  const changes: string[] = [];
  for (const [p, v] of after) if (!before.has(p)) changes.push(`+ ${p}`);
  else if (before.get(p) !== v) changes.push(`~ ${p}`);
  for (const p of before.keys()) if (!after.has(p)) changes.push(`- ${p}`);
  return changes.sort();
}

async function listen(): Promise<{ server: http.Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.end('hello from the host');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
}

beforeAll(async () => {
  requireBusybox();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'cargohold-sandbox-spec-'));
  shared = await freshRoot();
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('runInSandbox', () => {
  it('is available on this host', async () => {
    expect(await sandboxAvailable()).toBeNull();
  });

  it('streams stdout and stderr separately, as they are produced, including via /dev/stdout and /dev/stderr', async () => {
    const arrivals: { text: string; at: number }[] = [];
    const out = await capture({
      user: 'app',
      argv: sh('echo out1; echo err1 >&2; echo out2 > /dev/stdout; echo err2 > /dev/stderr; sleep 1; echo late'),
      onOutput: (chunk) => arrivals.push({ text: chunk.toString(), at: performance.now() }),
    });
    const finished = performance.now();
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe('out1\nout2\nlate\n');
    expect(out.stderr).toBe('err1\nerr2\n');
    const first = arrivals.find((a) => a.text.includes('out1'));
    expect(finished - (first?.at ?? finished)).toBeGreaterThan(700);
  });

  it('reports the exit code as a result, and 127 for a command that does not exist', async () => {
    expect((await capture({ argv: sh('exit 42') })).exitCode).toBe(42);
    expect((await capture({ argv: ['true'] })).exitCode).toBe(0);
    const missing = await capture({ argv: ['no-such-command'] });
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('no-such-command');
  });

  it('gives the command exactly the given environment, nothing from the host, plus HOME as runc adds it', async () => {
    process.env.CARGOHOLD_SANDBOX_LEAK_CHECK = 'host-value';
    try {
      const env = ['PATH=/usr/bin:/bin', 'FOO=bar', 'EMPTY=', 'WITH_EQUALS=a=b=c', 'SPACES=one two'];
      const out = await capture({ argv: ['env'], env });
      expect(out.stdout.split('\n').filter(Boolean)).toEqual([...env, 'HOME=/root']);

      const noPath = await capture({ argv: ['/usr/bin/env'], env: ['ONLY=this'], user: 'app' });
      expect(noPath.stdout.split('\n').filter(Boolean)).toEqual([`PATH=${DEFAULT_PATH}`, 'ONLY=this', 'HOME=/home/app']);

      const home = await capture({ argv: ['env'], env: ['HOME=/srv', 'PATH=/usr/bin'] });
      expect(home.stdout.split('\n').filter(Boolean)).toEqual(['HOME=/srv', 'PATH=/usr/bin']);
    } finally {
      delete process.env.CARGOHOLD_SANDBOX_LEAK_CHECK;
    }
  });

  describe('USER', () => {
    const ids = async (user?: string): Promise<string> =>
      (await capture({ user, argv: sh("grep -E '^(Uid|Gid|Groups)' /proc/self/status | tr -s '\\t ' ' '") })).stdout;

    it('defaults to root with Docker\'s default capabilities', async () => {
      const out = await capture({ argv: sh("id -u; grep -E '^Cap(Eff|Bnd)' /proc/self/status") });
      expect(out.stdout).toBe('0\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n');
    });

    it('resolves a name to its uid, primary gid and supplementary groups', async () => {
      expect(await ids('app')).toBe('Uid: 1000 1000 1000 1000\nGid: 1000 1000 1000 1000\nGroups: 50 \n');
    });

    it('resolves a numeric uid through passwd like a name', async () => {
      expect(await ids('1000')).toBe('Uid: 1000 1000 1000 1000\nGid: 1000 1000 1000 1000\nGroups: 50 \n');
    });

    it('takes uid:gid and name:group, without supplementary groups', async () => {
      expect(await ids('1000:50')).toBe('Uid: 1000 1000 1000 1000\nGid: 50 50 50 50\nGroups: \n');
      expect(await ids('app:staff')).toBe('Uid: 1000 1000 1000 1000\nGid: 50 50 50 50\nGroups: \n');
    });

    it('uses a uid without a passwd entry as is, with gid 0', async () => {
      expect(await ids('4242')).toBe('Uid: 4242 4242 4242 4242\nGid: 0 0 0 0\nGroups: \n');
    });

    it('rejects unknown names with Docker\'s messages', async () => {
      const user = await rejection(capture({ user: 'nobody', argv: ['true'] }));
      expect(user.code).toBe('USER');
      expect(user.message).toBe('unable to find user nobody: no matching entries in passwd file');
      const group = await rejection(capture({ user: 'app:nogroup', argv: ['true'] }));
      expect(group.message).toBe('unable to find group nogroup: no matching entries in group file');
    });
  });

  it('starts the command with umask 022, as runc does, whatever the builder\'s umask', async () => {
    const previous = process.umask(0o077);
    try {
      const out = await capture({ network: 'host', user: 'app', argv: sh('umask; cat /etc/hosts /etc/hostname /etc/resolv.conf > /dev/null && echo readable') });
      expect(out.stdout).toBe('0022\nreadable\n');
      expect(out.stderr).toBe('');
    } finally {
      process.umask(previous);
    }
  });

  it('creates a missing working directory and starts there', async () => {
    const root = await freshRoot();
    const out = await capture({ root, workdir: '/srv/app/../app/build', user: 'app', argv: ['pwd'] });
    expect(out.stdout).toBe('/srv/app/build\n');
    const st = await stat(path.join(root, 'srv/app/build'));
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o755);
    expect(st.uid).toBe(process.getuid?.());
  });

  it('provides a fresh /proc and a minimal /dev', async () => {
    const out = await capture({
      argv: sh('ls /dev | tr "\\n" " "; echo; head -c 16 /dev/urandom | wc -c; grep -c "^proc /proc " /proc/mounts; grep " /dev/pts " /proc/mounts | cut -d" " -f3'),
    });
    expect(out.stdout.split('\n')[0].trim().split(' ')).toEqual(
      expect.arrayContaining(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'ptmx', 'fd', 'stdin', 'stdout', 'stderr']),
    );
    expect(out.stdout.split('\n').slice(1)).toEqual(['16', '1', 'devpts', '']);
  });

  it('mounts sysfs read-only, showing only the sandbox\'s network, also when the image has no /sys', async () => {
    const root = await freshRoot();
    const out = await capture({ root, argv: sh('ls /sys/class/net; touch /sys/x 2>/dev/null || echo read-only') });
    expect(out.stdout).toBe('lo\nread-only\n');
    expect(await readdir(root)).not.toContain('sys');
  });

  describe('network none', () => {
    it('has only a loopback interface, and it is up', async () => {
      const out = await capture({ argv: sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ip -o link | cut -d' ' -f2,3") });
      expect(out.stdout).toBe('lo\nlo: <LOOPBACK,UP,LOWER_UP>\n');
    });

    it('cannot reach a listener on the host\'s 127.0.0.1', async () => {
      const { server, port, hits } = await listen();
      try {
        const out = await capture({ argv: ['wget', '-q', '-O', '-', `http://127.0.0.1:${port}/`] });
        expect(out.exitCode).not.toBe(0);
        expect(out.stdout).toBe('');
        expect(hits()).toBe(0);
      } finally {
        server.close();
      }
    });
  });

  it('network host reaches a listener on the host\'s 127.0.0.1', async () => {
    const { server, port, hits } = await listen();
    try {
      const out = await capture({ network: 'host', argv: ['wget', '-q', '-O', '-', `http://127.0.0.1:${port}/`] });
      expect(out.exitCode).toBe(0);
      expect(out.stdout).toBe('hello from the host');
      expect(hits()).toBe(1);
    } finally {
      server.close();
    }
  });

  it('runs the command as PID 1 of its own PID namespace, with no host process visible', async () => {
    const out = await capture({ argv: sh('echo $$; tr "\\0" " " < /proc/1/cmdline; echo; ls /proc | grep -E "^[0-9]+$"') });
    const [self, init, ...pids] = out.stdout.trim().split('\n');
    expect(self).toBe('1');
    expect(init.trim()).toBe('/bin/sh -c echo $$; tr "\\0" " " < /proc/1/cmdline; echo; ls /proc | grep -E "^[0-9]+$"');
    // PID 1 and the pipeline's own children only: nothing of the host's hundreds of processes.
    expect(pids.map(Number).every((pid) => pid >= 1 && pid < 20)).toBe(true);
    expect(pids.length).toBeLessThanOrEqual(4);
  });

  it('has its own hostname, also in /etc/hostname and /etc/hosts', async () => {
    const named = await capture({ hostname: 'build-box', argv: sh('hostname; cat /etc/hostname; grep -c "^127.0.0.1[[:space:]]build-box$" /etc/hosts; grep -c localhost /etc/hosts') });
    expect(named.stdout).toBe('build-box\nbuild-box\n1\n2\n');
    const random = await capture({ argv: ['hostname'] });
    expect(random.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    expect(random.stdout.trim()).not.toBe(os.hostname());
  });

  it('kills every process, background children included, when aborted', async () => {
    const controller = new AbortController();
    const started = capture({
      user: 'app',
      signal: controller.signal,
      argv: sh('sleep 987651 & sleep 987652 & (sleep 987653 &) ; echo started; wait'),
      onOutput: (chunk) => {
        if (chunk.toString().includes('started')) controller.abort(new Error('build cancelled'));
      },
    });
    const err = await rejection(started);
    expect(err.code).toBe('ABORTED');
    expect((err.cause as Error).message).toBe('build cancelled');
    expect(survivors(shared, '98765')).toEqual([]);
  });

  it('kills background processes when the command itself exits', async () => {
    const out = await capture({ argv: sh('sleep 987654 & echo left-running') });
    expect(out.exitCode).toBe(0);
    expect(survivors(shared, '987654')).toEqual([]);
  });

  it('kills everything and rejects when the timeout expires', async () => {
    const t0 = performance.now();
    const err = await rejection(capture({ timeoutMs: 500, argv: sh('sleep 987655 & sleep 987656') }));
    expect(err.code).toBe('TIMEOUT');
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(survivors(shared, '98765')).toEqual([]);
  });

  describe('the root filesystem afterwards', () => {
    it('holds only what the command wrote (network none)', async () => {
      const root = await freshRoot();
      const before = await snapshot(root);
      await capture({ root, argv: sh('echo hi > /tmp/new.txt') });
      expect(diff(before, await snapshot(root))).toEqual(['+ /tmp/new.txt', '~ /tmp']);
    });

    it('holds only what the command wrote (network host, USER app)', async () => {
      const root = await freshRoot();
      const before = await snapshot(root);
      const out = await capture({ root, network: 'host', user: 'app', argv: sh('cat /etc/resolv.conf >/dev/null && echo hi > /home/app/new.txt') });
      expect(out.exitCode).toBe(0);
      expect(diff(before, await snapshot(root))).toEqual(['+ /home/app/new.txt', '~ /home/app']);
    });

    it('leaves existing mount points alone', async () => {
      const root = await freshRoot();
      for (const dir of ['proc', 'dev', 'sys']) await mkdir(path.join(root, dir));
      for (const file of ['hosts', 'hostname', 'resolv.conf']) await writeFile(path.join(root, 'etc', file), '');
      const before = await snapshot(root);
      await capture({ root, network: 'host', argv: ['true'] });
      expect(diff(before, await snapshot(root))).toEqual([]);
    });

    it('keeps what the command wrote into a directory the sandbox had to create', async () => {
      const root = await freshRoot();
      await rm(path.join(root, 'etc'), { recursive: true });
      const out = await capture({ root, argv: sh('echo x > /etc/motd') });
      expect(out.exitCode).toBe(0);
      expect((await readdir(path.join(root, 'etc'))).sort()).toEqual(['motd']);
    });
  });

  it('handles a root path with spaces and an image whose /etc is an absolute symlink', async () => {
    const root = await createBusyboxRoot(path.join(await mkdtemp(path.join(scratch, 'with space-')), 'my root'));
    await rename(path.join(root, 'etc'), path.join(root, 'config'));
    await symlink('/config', path.join(root, 'etc'));
    const before = await snapshot(root);
    const out = await capture({ root, hostname: 'linked', user: 'app', argv: sh('cat /etc/hostname; readlink /etc') });
    expect(out.stdout).toBe('linked\n/config\n');
    expect(diff(before, await snapshot(root))).toEqual([]);
  });

  it('keeps concurrent runs in different roots apart', async () => {
    const roots = await Promise.all([1, 2, 3].map(() => freshRoot()));
    const outs = await Promise.all(roots.map((root, i) => capture({ root, argv: sh(`sleep 0.2; echo run-${i}; echo err-${i} >&2`) })));
    expect(outs.map((o) => o.stdout + o.stderr)).toEqual(['run-0\nerr-0\n', 'run-1\nerr-1\n', 'run-2\nerr-2\n']);
  });

  it('refuses a second concurrent run in the same root', async () => {
    let running!: () => void;
    const isRunning = new Promise<void>((resolve) => (running = resolve));
    const first = capture({ argv: sh('echo running; sleep 0.3'), onOutput: () => running() });
    await isRunning;
    const second = await rejection(capture({ argv: ['true'] }));
    expect(second.code).toBe('INVALID');
    expect(second.message).toContain('is already in use by another sandboxed command');
    expect((await first).exitCode).toBe(0);
  });

  it('fails setup with a clear error and leaves nothing behind', async () => {
    const root = await freshRoot();
    await writeFile(path.join(root, 'proc'), 'not a directory');
    const before = await snapshot(root);
    const err = await rejection(capture({ root, argv: ['true'] }));
    expect(err.code).toBe('SETUP');
    expect(err.message).toBe('cannot mount /proc in the root filesystem: /proc is a regular file, not a directory');
    expect(diff(before, await snapshot(root))).toEqual([]);
  });

  it('rejects malformed runs before starting anything', async () => {
    expect((await rejection(capture({ argv: [] }))).code).toBe('INVALID');
    expect((await rejection(capture({ argv: ['true'], env: ['NO_EQUALS'] }))).message).toBe('environment entry "NO_EQUALS" is not KEY=VALUE');
    expect((await rejection(capture({ root: path.join(scratch, 'missing'), argv: ['true'] }))).code).toBe('INVALID');
  });

  it('measures the overhead of one `true` run', async () => {
    const median = async (network: 'none' | 'host'): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        await runInSandbox({ root: shared, argv: ['true'], env: [], network });
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b)[7];
    };
    const none = await median('none');
    const host = await median('host');
    console.info(`sandbox overhead of one \`true\` run: ${none.toFixed(1)} ms (network none), ${host.toFixed(1)} ms (network host)`);
    expect(none).toBeLessThan(1000);
  });
});
