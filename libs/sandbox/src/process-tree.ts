import { readFileSync, readdirSync } from 'node:fs';

function childrenFromProc(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
}

// Kernels built without CONFIG_PROC_CHILDREN lack the file above: find children by parent PID.
function childrenByScan(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

function childrenOf(pid: number): number[] {
  try {
    return childrenFromProc(pid);
  } catch {
    return childrenByScan(pid);
  }
}

function sigkill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Kills everything started by the `unshare --pid --fork` process `pid`: its only child is PID 1 of
 * the sandbox's PID namespace, and when that dies the kernel SIGKILLs every other process in the
 * namespace (background jobs, daemons, double-forked orphans alike). unshare's own --kill-child
 * is not enough: the kernel clears that parent-death signal when the command switches to a
 * non-root USER.
 */
export function killSandboxTree(pid: number): void {
  for (const child of childrenOf(pid)) sigkill(child);
  sigkill(pid);
}

const running = new Set<number>();
let exitHookInstalled = false;

/** Remembers a live sandbox so that it is killed if this Node process exits first. */
export function trackSandbox(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const live of running) killSandboxTree(live);
  });
}

export function untrackSandbox(pid: number): void {
  running.delete(pid);
}
