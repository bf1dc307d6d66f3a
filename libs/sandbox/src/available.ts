import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SandboxError } from './errors';
import { locateHostTools } from './host-tools';
import type { HostTools } from './host-tools';
import { runInSandbox } from './sandbox';

const run = promisify(execFile);

const INSTALL = 'apt-get install -y runc';

let usable = false;

async function runcVersion(tools: HostTools): Promise<string | null> {
  try {
    const { stdout } = await run(tools.runc, ['--version']);
    if (/^runc version /m.test(stdout)) return null;
    return `${tools.runc} --version does not report a runc version: ${stdout.trim()} (install with: ${INSTALL})`;
  } catch (err) {
    return `${tools.runc} --version failed: ${(err as Error).message} (install with: ${INSTALL})`;
  }
}

/**
 * One real run on a root holding only an empty executable file. runc gets through everything
 * (namespaces, cgroup, mounts, pivot_root, capabilities, seccomp) up to the final execve, which
 * the kernel refuses with ENOEXEC: a failure only the fully set-up container can report.
 */
async function probe(): Promise<string | null> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cargohold-sandbox-probe-'));
  try {
    const root = path.join(dir, 'root');
    await mkdir(root);
    await writeFile(path.join(root, 'cargohold-sandbox-probe'), '');
    await chmod(path.join(root, 'cargohold-sandbox-probe'), 0o755);
    let stderr = '';
    const result = await runInSandbox({
      root,
      argv: ['/cargohold-sandbox-probe'],
      env: [],
      network: 'none',
      timeoutMs: 30_000,
      onOutput: (chunk, stream) => {
        if (stream === 'stderr') stderr += chunk.toString();
      },
    });
    if (result.exitCode !== 0 && stderr.includes('exec format error')) return null;
    return `the sandbox probe did not reach the command (exit code ${result.exitCode}): ${stderr.trim()}`;
  } catch (err) {
    if (err instanceof SandboxError) return err.message;
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * null when runInSandbox can work on this host, otherwise what is missing and how to get it.
 * A success is remembered for the life of the process; a failure is checked again next time.
 */
export async function sandboxAvailable(): Promise<string | null> {
  if (usable) return null;
  if (process.platform !== 'linux') return `the sandbox needs Linux namespaces; this host runs ${process.platform}`;
  const tools = await locateHostTools();
  if (typeof tools === 'string') return tools;
  const reason = (await runcVersion(tools)) ?? (await probe());
  usable = reason === null;
  return reason;
}
