import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { locateHostTools } from './host-tools';
import { MASKED_PATHS, ociConfig, PIDS_LIMIT } from './oci-config';
import { createBusyboxRoot, requireBusybox } from './testing/busybox-root';
import { type CaptureInput, type Captured, captureRun, sh } from './testing/capture';
import { compileLibrary } from './testing/compile-library';

const run = promisify(execFile);

let scratch: string;
let shared: string;

const capture = (input: CaptureInput): Promise<Captured> => captureRun(shared, input);

/** Host processes whose command line carries `marker`. */
function survivors(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(marker)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** The host directory of the container's cgroup, from its own /proc/self/cgroup (v1 pids controller or v2). */
function hostCgroupDir(procSelfCgroup: string): string {
  const lines = procSelfCgroup.trim().split('\n');
  const v1 = lines.find((line) => /^\d+:pids:/.test(line));
  if (v1) return path.join('/sys/fs/cgroup/pids', v1.split(':')[2]);
  return path.join('/sys/fs/cgroup', (lines.find((line) => line.startsWith('0::')) ?? '0::/').slice(3));
}

beforeAll(async () => {
  requireBusybox();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'cargohold-sandbox-security-'));
  shared = await createBusyboxRoot(await mkdtemp(path.join(scratch, 'root-')));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('runInSandbox as a security boundary', () => {
  describe('the classic chroot escape', () => {
    // busybox's chroot always changes into the new root, so the escaping process gets its working
    // directory outside its root through /proc/1/cwd instead: chroot into /proc/1 (a directory
    // that does not contain PID 1's working directory), follow /cwd out of it, climb with `..`,
    // and chroot to wherever that ends. Under a plain chroot that is the host's root.
    const escape = (secret: string): string =>
      [
        'cd /',
        `chroot /proc/1 /root/bin/busybox sh -c 'cd /cwd && cd -P ../../../../../../../../.. && /root/bin/busybox ls; /root/bin/busybox chroot . /bin/cat ${secret}'`,
        'echo status=$?',
      ].join('; ');

    it('reads a host file from a plain chroot (the attack is real)', async () => {
      const secret = path.join(scratch, 'host-secret');
      await writeFile(secret, 'host-only secret\n');
      const root = await createBusyboxRoot(await mkdtemp(path.join(scratch, 'chroot-')));
      await mkdir(path.join(root, 'proc'));
      const chroot = ['--mount', '--pid', '--fork', `--mount-proc=${root}/proc`, 'chroot', root];
      const { stdout } = await run('unshare', [...chroot, ...sh(escape(secret))]);
      expect(stdout).toContain('host-only secret');
    });

    it('stops at the container root: the host file stays out of reach', async () => {
      const secret = path.join(scratch, 'host-secret');
      await writeFile(secret, 'host-only secret\n');
      const out = await capture({ argv: sh(escape(secret)) });
      expect(out.stdout).not.toContain('host-only secret');
      // The climb ended at the image's own root (pivot_root left nothing above it).
      expect(out.stdout.split('\n')).toEqual(expect.arrayContaining(['bin', 'etc', 'home', 'proc', 'tmp', 'status=1']));
      expect(out.stderr).toContain(`can't open '${secret}'`);
    });
  });

  it('refuses mount(2), even to root', async () => {
    const out = await capture({ argv: sh('mount -t tmpfs none /tmp; echo status=$?; grep -c " /tmp tmpfs " /proc/mounts') });
    expect(out.stdout).toBe('status=1\n0\n');
    expect(out.stderr).toMatch(/permission denied|not permitted/i);
  });

  it('refuses new namespaces and joining others', async () => {
    const tries = ['unshare -U true', 'unshare -m true', 'unshare -n true', 'unshare -p -f true', 'nsenter -t 1 -m true'];
    const out = await capture({ argv: sh(tries.map((cmd) => `${cmd}; echo $?`).join('; ')) });
    expect(out.stdout).toBe('1\n1\n1\n1\n1\n');
    expect(out.stderr.match(/Operation not permitted/g)).toHaveLength(tries.length);
  });

  it('gives the command Docker\'s capability bounding set, seccomp filtering and no ambient capabilities', async () => {
    const status = "grep -E '^(CapBnd|CapEff|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr '\\t' ' '";
    const root = await capture({ argv: sh(status) });
    expect(root.stdout).toBe('CapEff: 00000000a80425fb\nCapBnd: 00000000a80425fb\nCapAmb: 0000000000000000\nNoNewPrivs: 0\nSeccomp: 2\n');
    // As execve(2) would leave them for a non-root user: nothing effective, the same bound.
    const app = await capture({ user: 'app', argv: sh(status) });
    expect(app.stdout).toBe('CapEff: 0000000000000000\nCapBnd: 00000000a80425fb\nCapAmb: 0000000000000000\nNoNewPrivs: 0\nSeccomp: 2\n');
  });

  it(`bounds a fork bomb at ${PIDS_LIMIT} processes`, async () => {
    // Subshells blocked on a FIFO: a fork each, no exec, so the bomb stays cheap.
    const bomb = 'mkfifo /dev/shm/block; ( i=0; while [ $i -lt 6000 ]; do (read x < /dev/shm/block) & i=$((i+1)); done ); set -- /proc/[0-9]*; echo $#';
    const out = await capture({ argv: sh(bomb) });
    const count = Number(out.stdout.trim());
    expect(count).toBeLessThanOrEqual(PIDS_LIMIT);
    expect(count).toBeGreaterThan(PIDS_LIMIT - 10);
    expect(out.stderr).toContain("can't fork");
  });

  it('mounts /sys read-only and hides or freezes Docker\'s masked and read-only /proc and /sys paths', async () => {
    const masked = MASKED_PATHS.filter((p) => existsSync(p));
    expect(masked.length).toBeGreaterThan(0); // else this test would check nothing
    // Bytes readable from each (a file masked with /dev/null), entries in each (a directory masked with an empty tmpfs).
    const show = masked.map((p) => `echo "${p}: $(cat ${p} 2>/dev/null | wc -c) $(ls -A ${p}/ 2>/dev/null | wc -l)"`).join('; ');
    const out = await capture({
      argv: sh(`touch /sys/x; echo 1 > /proc/sys/kernel/ostype; ${show}`),
    });
    expect(out.stderr).toContain("touch: /sys/x: Read-only file system");
    expect(out.stderr).toContain("can't create /proc/sys/kernel/ostype: Read-only file system");
    expect(out.stdout.trim().split('\n')).toEqual(masked.map((p) => `${p}: 0 0`));
  });

  it('lets device nodes other than Docker\'s defaults be created but not opened', async () => {
    const out = await capture({ argv: sh('mknod /dev/disk b 253 0 && head -c 1 /dev/disk; echo status=$?; head -c 4 /dev/zero | wc -c') });
    expect(out.stdout).toBe('status=1\n4\n');
    expect(out.stderr).toContain('Operation not permitted');
  });

  it('runs in its own cgroup under /cargohold-build, removed after the run', async () => {
    let during: boolean | undefined;
    const out = await capture({
      argv: sh('cat /proc/self/cgroup; sleep 0.2'),
      onOutput: (chunk) => (during ??= existsSync(hostCgroupDir(chunk.toString()))),
    });
    const dir = hostCgroupDir(out.stdout);
    expect(dir).toMatch(/\/cargohold-build\/[0-9a-f]{16}$/);
    expect(during).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it('applies docker build\'s memory, CPU and /dev/shm limits to the run\'s cgroup and mounts', async () => {
    const limits = { memory: 48 * 1024 * 1024, memorySwap: 48 * 1024 * 1024, cpuShares: 512, cpuPeriod: 100_000, cpuQuota: 50_000, cpusetCpus: '0', shmSize: 8 * 1024 * 1024 };
    const seen: Record<string, string> = {};
    const out = await capture({
      argv: sh('cat /proc/self/cgroup; df -k /dev/shm | tail -n 1; sleep 0.2'),
      limits,
      onOutput: (chunk) => {
        const text = chunk.toString();
        const line = text.split('\n').find((l) => /^\d+:memory:/.test(l));
        if (!line || seen.memory) return;
        const at = line.split(':')[2];
        const read = (controller: string, file: string) => readFileSync(path.join('/sys/fs/cgroup', controller, at, file), 'utf8').trim();
        Object.assign(seen, {
          memory: read('memory', 'memory.limit_in_bytes'),
          memsw: read('memory', 'memory.memsw.limit_in_bytes'),
          shares: read('cpu', 'cpu.shares'),
          quota: read('cpu', 'cpu.cfs_quota_us'),
          period: read('cpu', 'cpu.cfs_period_us'),
          cpus: read('cpuset', 'cpuset.cpus'),
        });
      },
    });
    expect(seen).toEqual({ memory: String(limits.memory), memsw: String(limits.memorySwap), shares: '512', quota: '50000', period: '100000', cpus: '0' });
    expect(out.stdout).toMatch(/\n\S+\s+8192\s/);
  });

  it('kills a run that goes past its memory limit, as the kernel\'s OOM killer does in Docker (exit 137)', async () => {
    // busybox tail keeps a newline-free stream whole: it grows until the cgroup stops it.
    const out = await capture({ argv: sh('head -c 256m /dev/zero | tail > /dev/null'), limits: { memory: 32 * 1024 * 1024, memorySwap: 32 * 1024 * 1024 } });
    expect(out.exitCode).toBe(137);
  });

  it('leaves no process, container state or cgroup behind after an abort or a timeout', async () => {
    const controller = new AbortController();
    let cgroup = '';
    const aborted = capture({ signal: controller.signal, argv: sh('cat /proc/self/cgroup; sleep 987681'), onOutput: (chunk) => {
      cgroup += chunk.toString();
      controller.abort();
    } });
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(capture({ timeoutMs: 300, argv: sh('sleep 987682') })).rejects.toMatchObject({ code: 'TIMEOUT' });
    // Aborts at every stage of runc's start, including before the container exists.
    for (const afterMs of [1, 5, 10, 20, 40]) {
      const early = new AbortController();
      setTimeout(() => early.abort(), afterMs);
      await expect(capture({ signal: early.signal, argv: sh('sleep 987683') })).rejects.toMatchObject({ code: 'ABORTED' });
    }
    expect(survivors('98768')).toEqual([]);
    expect(existsSync(hostCgroupDir(cgroup))).toBe(false);
    const workspaces = readdirSync('/dev/shm').filter((name) => name.startsWith('cargohold-sandbox-') && name.includes(`-${process.pid}-`));
    expect(workspaces.map((name) => readdirSync(path.join('/dev/shm', name, 'runc')))).toEqual([[]]);
  });

  it('uses only syscall names that runc\'s libseccomp knows (runc skips unknown ones silently)', async () => {
    const tools = await locateHostTools();
    if (typeof tools === 'string') throw new Error(tools);
    const root = await createBusyboxRoot(await mkdtemp(path.join(scratch, 'names-')));
    const bundle = await mkdtemp(path.join(scratch, 'bundle-'));
    for (const file of ['hosts', 'hostname']) await writeFile(path.join(bundle, file), '');
    const id = `names-${process.pid}`;
    const config = ociConfig({
      id,
      root,
      argv: ['/bin/true'],
      env: [],
      cwd: '/',
      user: { uid: 0, gid: 0, supplementaryGids: [], home: '/' },
      hostname: 'names',
      network: 'none',
      files: { hosts: path.join(bundle, 'hosts'), hostname: path.join(bundle, 'hostname') },
      sysfs: true,
      nofile: 1024,
      arch: process.arch,
      kernelRelease: os.release(),
    });
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(config));
    const log = path.join(bundle, 'runc.log');
    const state = path.join(bundle, 'state');
    await run(tools.runc, ['--debug', '--root', state, '--log', log, '--log-format', 'json', 'run', '--bundle', bundle, id]);
    const debug = await readFile(log, 'utf8');
    expect(debug).toContain('seccomp: '); // the debug log does cover loading the filter
    expect(debug.split('\n').filter((line) => line.includes('unknown seccomp syscall'))).toEqual([]);
  });

  it('takes every process of a run with it when the builder is SIGKILLed', async () => {
    const dir = await mkdtemp(path.join(scratch, 'builder-'));
    await compileLibrary(path.join(dir, 'lib'));
    const root = await createBusyboxRoot(path.join(dir, 'root'));
    // Prints the container's cgroup and workspace, then waits to be killed.
    await writeFile(
      path.join(dir, 'builder.js'),
      `const { runInSandbox } = require('./lib/index.js');
       const fs = require('node:fs');
       runInSandbox({ root: process.argv[2], env: [], network: 'none', user: 'app',
         argv: ['/bin/sh', '-c', 'cat /proc/self/cgroup; sleep 987671 & sleep 987672'],
         onOutput: (chunk) => {
           const workspaces = fs.readdirSync('/dev/shm').filter((n) => n.includes('-' + process.pid + '-'));
           process.stdout.write(JSON.stringify({ cgroup: chunk.toString(), workspaces }) + '\\n');
         } });`,
    );
    const builder = spawn(process.execPath, ['builder.js', root], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    const report = await new Promise<{ cgroup: string; workspaces: string[] }>((resolve, reject) => {
      builder.stdout.once('data', (line: Buffer) => resolve(JSON.parse(line.toString())));
      builder.once('exit', (code) => reject(new Error(`the builder exited early with ${code}`)));
    });
    await eventually(() => survivors('98767').length === 2, 5_000);
    expect(survivors('98767')).toHaveLength(2);
    builder.kill('SIGKILL');

    expect(await eventually(() => survivors('98767').length === 0, 5_000)).toBe(true);
    const cgroup = hostCgroupDir(report.cgroup);
    expect(await eventually(() => !existsSync(cgroup), 5_000)).toBe(true);
    const workspaces = report.workspaces.map((name) => path.join('/dev/shm', name));
    expect(workspaces.length).toBe(1);
    expect(await eventually(() => workspaces.every((w) => !existsSync(w)), 5_000)).toBe(true);
    // What the ledger would have removed after the run stays: the builder never got that far.
    expect(await readdir(root)).toEqual(expect.arrayContaining(['dev', 'proc', 'sys']));
  });
});
