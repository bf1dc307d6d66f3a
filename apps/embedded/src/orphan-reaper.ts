import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

// Reads process-group ids, one per line, until EOF. EOF without "done" means the supervisor died
// without stopping its children (SIGKILL, crash, a test harness killing it): kill them all.
const REAPER_SCRIPT = `
groups=""
while IFS= read -r line; do
  case "$line" in
    done) exit 0 ;;
    *[!0-9]*|"") ;;
    *) groups="$groups -$line" ;;
  esac
done
[ -n "$groups" ] && kill -s KILL -- $groups 2>/dev/null
exit 0
`;

/**
 * A tiny detached shell holding the read end of a pipe from the supervisor. Children run in
 * their own process groups (see ManagedProcess), so nothing else would take them down if the
 * supervisor vanished; the kernel closes the pipe whatever way it dies, and the reaper acts then.
 */
export class OrphanReaper {
  private released = false;

  private constructor(private readonly reaper: ChildProcess) {}

  static start(): OrphanReaper {
    const reaper = spawn('/bin/sh', ['-c', REAPER_SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => undefined); // best effort: without it, a clean stop still works
    reaper.stdin?.on('error', () => undefined);
    reaper.unref();
    return new OrphanReaper(reaper);
  }

  get pid(): number | undefined {
    return this.reaper.pid;
  }

  /** Kill process group `pgid` (a detached child's pid) if the supervisor dies first. */
  watch(pgid: number | undefined): void {
    if (pgid === undefined || this.released) return;
    this.reaper.stdin?.write(`${pgid}\n`);
  }

  /** Everything was stopped properly: let the reaper go without killing anything. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.reaper.stdin?.end('done\n');
  }
}
