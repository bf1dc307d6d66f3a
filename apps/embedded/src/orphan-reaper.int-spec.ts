import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';

import { OrphanReaper } from './orphan-reaper';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A detached process group: a shell that starts a grandchild and waits, ignoring SIGTERM. */
function spawnGroup(): { leader: number; grandchild: Promise<number> } {
  const child = spawn('/bin/sh', ['-c', 'trap "" TERM; sleep 300 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const grandchild = new Promise<number>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  child.unref();
  return { leader: child.pid!, grandchild };
}

describe('OrphanReaper', () => {
  const leftovers: number[] = [];
  afterEach(() => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });

  it('kills every watched process group, grandchildren included, when the supervisor side of the pipe closes', async () => {
    const reaper = OrphanReaper.start();
    const groups = [spawnGroup(), spawnGroup()];
    leftovers.push(...groups.map((g) => g.leader));
    const grandchildren = await Promise.all(groups.map((g) => g.grandchild));
    for (const g of groups) reaper.watch(g.leader);
    expect([...groups.map((g) => g.leader), ...grandchildren].every(isAlive)).toBe(true);

    // What the kernel does when the supervisor dies: the write end closes without "done".
    (reaper as unknown as { reaper: { stdin: NodeJS.WritableStream } }).reaper.stdin.end();
    await until(() => ![...groups.map((g) => g.leader), ...grandchildren].some(isAlive));
    await until(() => !isAlive(reaper.pid!));
  });

  it('leaves everything alone once released after a clean stop', async () => {
    const reaper = OrphanReaper.start();
    const group = spawnGroup();
    leftovers.push(group.leader);
    const grandchild = await group.grandchild;
    reaper.watch(group.leader);
    reaper.release();
    await until(() => !isAlive(reaper.pid!));
    expect(isAlive(group.leader)).toBe(true);
    expect(isAlive(grandchild)).toBe(true);
  });
});
