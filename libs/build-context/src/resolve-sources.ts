import type { Stats } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CopyError } from './errors';
import type { Instruction } from './errors';
import { compileComponent, containsWildcards } from './go-match';
import { basenameRel, cleanRelative, compareNames, joinRel } from './paths';
import { resolveBelow, SymlinkEscapeError } from './scoped-path';
import type { ResolvedSource, SourceEntry } from './types';

export interface ResolveSourcesOptions {
  /** The .dockerignore verdict for a context-relative path; ignored paths are invisible. */
  ignores?: (path: string) => boolean;
  /** Names the instruction in messages (`COPY failed: …`); COPY by default. */
  instruction?: Instruction;
}

/** `http://` and `https://` sources are URLs (moby's urlutil.IsURL). */
export function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * The files and directories that COPY/ADD sources name in `contextDir`, by the legacy builder's
 * rules: paths count from the context root (a leading `/` or `./` is dropped), `..` may not leave
 * the context, Go `filepath.Match` wildcards expand to every match (each one a source), symlinks are
 * followed only while they stay inside the context, and ignored paths do not exist. A path that
 * is missing is an error; a wildcard that matches nothing is only an error when no source matched
 * anything. Errors are CopyErrors with moby's texts.
 */
export async function resolveSources(
  contextDir: string,
  sources: string[],
  options: ResolveSourcesOptions = {},
): Promise<ResolvedSource[]> {
  const resolver = new SourceResolver(contextDir, options.instruction ?? 'COPY', options.ignores);
  const out: ResolvedSource[] = [];
  for (const source of sources) out.push(...(await resolver.resolve(source)));
  if (out.length === 0) throw resolver.fail('no source files were specified');
  return out;
}

class SourceResolver {
  constructor(
    private readonly root: string,
    private readonly instruction: Instruction,
    private readonly ignores: ((path: string) => boolean) | undefined,
  ) {}

  fail(message: string): CopyError {
    return new CopyError(`${this.instruction} failed: ${message}`);
  }

  async resolve(source: string): Promise<ResolvedSource[]> {
    if (isUrlSource(source)) {
      if (this.instruction === 'COPY') throw this.fail("source can't be a URL for COPY");
      throw this.fail(`${source} is a URL: fetch it with urlSource() and copy the source it returns`);
    }
    // What moby trims before it reports a path back (`stat ./a` is shown as `stat a`).
    let shown = source.startsWith('/') ? source.slice(1) : source;
    if (shown.startsWith('./')) shown = shown.slice(2);
    const rel = cleanRelative(shown);
    if (rel === null) throw this.fail(`forbidden path outside the build context: ${shown} ()`);

    if (containsWildcards(shown)) {
      const matches: ResolvedSource[] = [];
      for (const match of await this.expand(rel)) {
        const resolved = await this.resolvePath(source, match, match);
        if (resolved) matches.push(resolved);
      }
      return matches;
    }
    const resolved = await this.resolvePath(source, rel, shown);
    if (!resolved) {
      throw this.fail(`file not found in build context or excluded by .dockerignore: stat ${shown}: file does not exist`);
    }
    return [resolved];
  }

  private isIgnored(rel: string): boolean {
    return rel !== '' && this.ignores !== undefined && this.ignores(rel);
  }

  /** Context paths matching a wildcard pattern, in the order a walk of the context meets them. */
  private async expand(pattern: string): Promise<string[]> {
    const parts = pattern.split('/');
    const matchers = parts.map((part) => compileComponent(part));
    if (matchers.some((matcher) => matcher === null)) return [];
    const found: string[] = [];
    const visit = async (dir: string, depth: number): Promise<void> => {
      const names = await this.listDir(dir);
      for (const name of names) {
        if (!matchers[depth]!(name)) continue;
        const rel = joinRel(dir, name);
        if (depth === parts.length - 1) found.push(rel);
        // Like filepath.Walk, never descend through a symlink.
        else if ((await lstat(join(this.root, rel))).isDirectory()) await visit(rel, depth + 1);
      }
    };
    await visit('', 0);
    return found;
  }

  private async listDir(rel: string): Promise<string[]> {
    try {
      return (await readdir(join(this.root, rel))).sort(compareNames);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw err;
    }
  }

  /** The source at `rel` (symlinks followed inside the context), or null when it is not there. */
  private async resolvePath(source: string, rel: string, shown: string): Promise<ResolvedSource | null> {
    let target;
    try {
      target = await resolveBelow(this.root, rel, 'contain');
    } catch (err) {
      if (err instanceof SymlinkEscapeError) {
        throw this.fail(
          `forbidden path outside the build context: ${shown} (symlink ${err.link} -> ${err.target} leads outside the context)`,
        );
      }
      throw err;
    }
    if (target.stats === null) return null;
    const ignored = this.isIgnored(rel) || this.isIgnored(target.rel);
    const base = { source, path: rel, name: basenameRel(rel), hostPath: target.hostPath, remote: false };

    if (target.stats.isDirectory()) {
      const entries = await this.walk(target.rel, target.hostPath);
      // An ignored directory is there only for what `!exceptions` brought back inside it.
      if (ignored && entries.length === 0) return null;
      return { ...base, kind: 'directory', entries };
    }
    if (ignored) return null;
    if (!target.stats.isFile()) throw this.fail(`${shown} is not a regular file or directory`);
    const stats = await stat(target.hostPath);
    return { ...base, kind: 'file', entries: [entryOf('', target.hostPath, stats)] };
  }

  /** Every visible descendant of a context directory, depth first, names in byte order. */
  private async walk(dirRel: string, dirHost: string): Promise<SourceEntry[]> {
    const entries: SourceEntry[] = [];
    const visit = async (below: string): Promise<number> => {
      let visible = 0;
      for (const name of await this.listDir(joinRel(dirRel, below))) {
        const path = joinRel(below, name);
        const hostPath = join(dirHost, path);
        const stats = await lstat(hostPath);
        const ignored = this.isIgnored(joinRel(dirRel, path));
        if (stats.isDirectory()) {
          // An ignored directory is not listed, but `!exceptions` may bring back files below it.
          if (!ignored) entries.push(entryOf(path, hostPath, stats));
          const inside = await visit(path);
          visible += ignored ? inside : inside + 1;
          continue;
        }
        if (ignored) continue;
        if (stats.isSymbolicLink()) {
          entries.push(entryOf(path, hostPath, stats, await readlink(hostPath)));
        } else if (stats.isFile()) {
          entries.push(entryOf(path, hostPath, stats));
        } else {
          throw this.fail(`${joinRel(dirRel, path)} is not a regular file, directory or symlink`);
        }
        visible++;
      }
      return visible;
    };
    await visit('');
    return entries;
  }
}

function entryOf(path: string, hostPath: string, stats: Stats, linkTarget?: string): SourceEntry {
  const type = stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'file';
  return {
    path,
    type,
    hostPath,
    mode: stats.mode & 0o7777,
    size: type === 'file' ? stats.size : 0,
    mtimeMs: stats.mtimeMs,
    ...(linkTarget === undefined ? {} : { linkTarget }),
  };
}
