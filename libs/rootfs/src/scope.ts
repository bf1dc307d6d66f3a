import { chmodSync, lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';

/** Linux gives up after 40 symlinks in one lookup; moby's FollowSymlinkInScope after 255. */
const MAX_SYMLINKS = 255;

export type ScopeFailure =
  | { reason: 'not-a-directory'; at: string }
  | { reason: 'missing'; at: string }
  | { reason: 'symlink-loop'; at: string };

export class ScopeError extends Error {
  constructor(readonly failure: ScopeFailure) {
    super(`${failure.reason} at /${failure.at}`);
    this.name = 'ScopeError';
  }
}

/**
 * Resolves directory paths inside a root the way a process chrooted into it would, so nothing
 * under the root can lead outside it: every symlink met on the way is followed with the root as
 * `/` (absolute targets restart at the root, `..` stops at it), as moby's FollowSymlinkInScope.
 * Results are real directories (no symlink left in them) and are cached until `forget()`, which
 * callers invoke whenever they remove or replace anything. Synchronous, like the unpacking that
 * uses it (see applyLayer).
 */
export class RootScope {
  private readonly cache = new Map<string, string>();

  constructor(
    /** Real absolute path of the root (no symlinks in it). */
    readonly root: string,
    /** Called for each directory that `resolveDir` creates. */
    private readonly onCreate: (abs: string) => void = () => undefined,
  ) {}

  forget(): void {
    this.cache.clear();
  }

  /**
   * The on-disk directory for root-relative `path` (clean, no `..`). With `create`, missing
   * directories are made (mode 0755), as moby makes an entry's missing parents.
   */
  resolveDir(path: string, create: boolean): string {
    if (path === '') return this.root;
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached;

    let done: string[] = [];
    const todo = path.split('/').reverse();
    let symlinks = 0;
    while (todo.length > 0) {
      const part = todo.pop() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      const rel = [...done, part].join('/');
      const abs = `${this.root}/${rel}`;
      if (this.cache.get(rel) === abs) {
        done.push(part);
        continue;
      }
      const stats = lstatOrNull(abs);
      if (stats === null) {
        if (!create) throw new ScopeError({ reason: 'missing', at: rel });
        mkdirSync(abs, { mode: 0o755 });
        chmodSync(abs, 0o755); // mkdir honours the umask
        this.onCreate(abs);
        this.cache.set(rel, abs);
        done.push(part);
      } else if (stats.isSymbolicLink()) {
        symlinks += 1;
        if (symlinks > MAX_SYMLINKS) throw new ScopeError({ reason: 'symlink-loop', at: rel });
        const target = readlinkSync(abs);
        if (target.startsWith('/')) done = [];
        todo.push(...target.split('/').reverse());
      } else if (stats.isDirectory()) {
        done.push(part);
        this.cache.set(rel, abs);
      } else {
        throw new ScopeError({ reason: 'not-a-directory', at: rel });
      }
    }
    const resolved = done.length === 0 ? this.root : `${this.root}/${done.join('/')}`;
    this.cache.set(path, resolved);
    return resolved;
  }
}

function lstatOrNull(abs: string): Stats | null {
  return lstatSync(abs, { throwIfNoEntry: false }) ?? null;
}
