import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createBusyboxRoot, requireBusybox } from './testing/busybox-root';
import { compileLibrary } from './testing/compile-library';

const run = promisify(execFile);
const NOBODY = 65534;

// Runs as the unprivileged user: every scenario's outcome goes to stdout as JSON.
const RUNNER = `
const { runInSandbox, sandboxAvailable } = require('./lib/index.js');
const fs = require('node:fs');
const path = require('node:path');
const root = process.argv[2];
async function capture(run) {
  let stdout = '';
  try {
    const result = await runInSandbox({ root, env: [], network: 'none', timeoutMs: 30000, ...run,
      onOutput: (chunk, stream) => { if (stream === 'stdout') stdout += chunk; run.onOutput?.(chunk); } });
    return { exitCode: result.exitCode, stdout };
  } catch (err) { return { error: err.code, message: err.message }; }
}
function listing(dir, out = []) {
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const st = fs.lstatSync(full, { bigint: true });
    out.push(path.relative(root, full) + ' ' + st.mtimeNs);
    if (st.isDirectory()) listing(full, out);
  }
  return out;
}
(async () => {
  const report = { uid: process.getuid(), available: await sandboxAvailable() };
  report.identity = await capture({ hostname: 'rootless', argv: ['/bin/sh', '-c', 'id -u; echo $$; hostname; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'] });
  report.user = await capture({ user: 'app', argv: ['true'] });
  const before = listing(root).concat(fs.statSync(root, { bigint: true }).mtimeNs + '');
  report.write = await capture({ argv: ['/bin/sh', '-c', 'echo hi > /tmp/new.txt'] });
  const after = listing(root).concat(fs.statSync(root, { bigint: true }).mtimeNs + '');
  report.changed = after.filter((line) => !before.includes(line)).map((line) => line.split(' ')[0]);
  report.removed = before.filter((line) => !after.includes(line)).map((line) => line.split(' ')[0]);
  // The chroot escape of sandbox-security.int-spec.ts, then a new user namespace: both refused.
  const escape = "cd /; chroot /proc/1 /root/bin/busybox sh -c 'cd /cwd && cd -P ../../../../../../../../.. && " +
    "/root/bin/busybox chroot . /bin/cat " + process.argv[3] + "'; unshare -U true; echo unshare=$?; grep -c '^Seccomp:.2$' /proc/self/status";
  report.confined = await capture({ argv: ['/bin/sh', '-c', escape] });
  const controller = new AbortController();
  report.abort = await capture({ signal: controller.signal, argv: ['/bin/sh', '-c', 'sleep 987661 & echo started; wait'],
    onOutput: () => controller.abort() });
  process.stdout.write(JSON.stringify(report));
})();
`;

describe('runInSandbox without root (runc rootless, user namespace)', () => {
  let scratch: string;

  beforeAll(async () => {
    requireBusybox();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'cargohold-sandbox-rootless-'));
    await chmod(scratch, 0o755);
  });

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('runs as mapped root with the same isolation, seccomp filter and cleanup, and refuses non-root USERs', async () => {
    const root = await createBusyboxRoot(path.join(scratch, 'root'));
    await compileLibrary(path.join(scratch, 'lib'));
    await writeFile(path.join(scratch, 'runner.js'), RUNNER);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await run('chown', ['-R', `${NOBODY}:${NOBODY}`, root]);
    else await chown(root, process.getuid?.() ?? 0, process.getgid?.() ?? 0);

    const secret = path.join(scratch, 'host-secret');
    await writeFile(secret, 'host-only secret\n', { mode: 0o644 });

    const node = process.execPath;
    const [cmd, ...args] = asRoot
      ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', node, 'runner.js', root, secret]
      : [node, 'runner.js', root, secret];
    const { stdout } = await run(cmd, args, { cwd: scratch, env: { PATH: process.env.PATH } });
    const report = JSON.parse(stdout);

    expect(report.uid).not.toBe(0);
    expect(report.available).toBeNull();
    expect(report.identity).toEqual({ exitCode: 0, stdout: '0\n1\nrootless\nlo\n' });
    expect(report.user.error).toBe('USER');
    expect(report.user.message).toContain('needs a root builder');
    expect(report.write).toEqual({ exitCode: 0, stdout: '' });
    expect(report.changed.sort()).toEqual(['tmp', 'tmp/new.txt']);
    expect(report.removed).toEqual(['tmp']);
    expect(report.abort.error).toBe('ABORTED');
    expect(report.confined).toEqual({ exitCode: 0, stdout: 'unshare=1\n1\n' });
  });
});
