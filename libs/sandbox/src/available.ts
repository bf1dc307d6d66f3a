import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SandboxError } from './errors';
import { locateHostTools } from './host-tools';
import { runInSandbox } from './sandbox';

// unshare reports "failed to execute" with 127 once it has entered the (empty) probe root.
const PROBE_EXIT = 127;

let usable = false;

/** One real sandbox setup on an empty root: namespaces, every mount, chroot and working directory. */
async function probe(): Promise<string | null> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cargohold-sandbox-probe-'));
  try {
    const root = path.join(dir, 'root');
    await mkdir(root);
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
    if (result.exitCode === PROBE_EXIT) return null;
    return `the sandbox probe failed (exit code ${result.exitCode}): ${stderr.trim()} (util-linux 2.36 or newer is needed for unshare --root/--wd/--setuid)`;
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
  const reason = await probe();
  usable = reason === null;
  return reason;
}
