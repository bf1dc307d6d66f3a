import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  error?: Error;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** `inherit`: stdout/stderr go straight to ours, byte for byte. `capture`: kept in memory (last lines only). */
  output: 'inherit' | 'capture';
}

const CAPTURED_LINES = 40;

/**
 * One child process the supervisor owns. Each runs in its own process group (detached) so a
 * terminal Ctrl-C reaches the supervisor alone, which then stops children in order, and so a
 * SIGKILL can take a child's own subprocesses (e.g. build sandboxes) with it.
 */
export class ManagedProcess {
  readonly exited: Promise<ProcessExit>;
  private exitInfo: ProcessExit | undefined;
  private readonly captured: string[] = [];
  private partialLine = '';

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      child.once('error', (error) => {
        // 'error' without a pid means spawn failed and 'exit' never comes.
        if (child.pid === undefined) {
          this.exitInfo = { code: null, signal: null, error };
          resolve(this.exitInfo);
        }
      });
    });
  }

  static spawn(name: string, command: string, args: readonly string[], options: SpawnOptions): ManagedProcess {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', options.output === 'inherit' ? 'inherit' : 'pipe', options.output === 'inherit' ? 'inherit' : 'pipe'],
    });
    const managed = new ManagedProcess(name, child);
    if (options.output === 'capture') {
      child.stdout?.on('data', (chunk: Buffer) => managed.capture(chunk));
      child.stderr?.on('data', (chunk: Buffer) => managed.capture(chunk));
    }
    return managed;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined && this.child.pid !== undefined;
  }

  /** Resolves once the OS has started the process; rejects with the spawn error otherwise. */
  async started(): Promise<void> {
    if (this.child.pid !== undefined) return;
    const outcome = await Promise.race([
      once(this.child, 'spawn').then(
        () => undefined,
        () => this.exited,
      ),
      this.exited,
    ]);
    if (outcome?.error) throw new Error(`could not start ${this.name}: ${outcome.error.message}`);
  }

  /** Last lines of captured output (capture mode only), for error messages. */
  recentOutput(): string[] {
    return this.partialLine ? [...this.captured, this.partialLine] : [...this.captured];
  }

  /** "exited with code 1", "was killed by SIGKILL", "could not start: …" */
  describeExit(exit: ProcessExit | undefined = this.exitInfo): string {
    if (!exit) return 'is still running';
    if (exit.error) return `could not start: ${exit.error.message}`;
    if (exit.signal) return `was killed by ${exit.signal}`;
    return `exited with code ${exit.code}`;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGKILL the whole process group: the child and anything it started. */
  killGroup(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // group already empty
    }
  }

  /**
   * SIGTERM, then SIGKILL (whole group) if it is still alive after `graceMs`. Leftover group
   * members of a child that exited on its own are killed too, so nothing outlives the supervisor.
   */
  async stop(graceMs: number): Promise<ProcessExit> {
    if (this.running) {
      this.signal('SIGTERM');
      const timer = new AbortController();
      const inTime = await Promise.race([
        this.exited.then(() => true),
        sleep(graceMs, false, { signal: timer.signal }).catch(() => false),
      ]);
      timer.abort();
      if (!inTime) this.killGroup();
    }
    const exit = await this.exited;
    this.killGroup();
    return exit;
  }

  private capture(chunk: Buffer): void {
    const lines = (this.partialLine + chunk.toString('utf8')).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.captured.push(line);
      if (this.captured.length > CAPTURED_LINES) this.captured.shift();
    }
  }
}
