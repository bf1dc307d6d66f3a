import { join } from 'node:path';
import { basenameRel, cleanRelative, joinRel } from '@cargohold/context-index';
import { CopyError } from './errors';
import type { Instruction } from './errors';
import { compileComponent, containsWildcards } from './go-match';
import { DiskTree, resolveInTree, type SourceTree, SymlinkEscapeError, type TreeNode } from './source-tree';
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
 * The files and directories that COPY/ADD sources name in `context` (a directory, or a tree such
 * as a build context's index), by the legacy builder's
 * rules: paths count from the context root (a leading `/` or `./` is dropped), `..` may not leave
 * the context, Go `filepath.Match` wildcards expand to every match (each one a source), symlinks are
 * followed only while they stay inside the context, and ignored paths do not exist. A path that
 * is missing is an error; a wildcard that matches nothing is only an error when no source matched
 * anything. Errors are CopyErrors with moby's texts.
 */
export async function resolveSources(
  context: string | SourceTree,
  sources: string[],
  options: ResolveSourcesOptions = {},
): Promise<ResolvedSource[]> {
  const tree = typeof context === 'string' ? new DiskTree(context) : context;
  const resolver = new SourceResolver(tree, options.instruction ?? 'COPY', options.ignores);
  const out: ResolvedSource[] = [];
  for (const source of sources) out.push(...resolver.resolve(source));
  if (out.length === 0) throw resolver.fail('no source files were specified');
  return out;
}

class SourceResolver {
  constructor(
    private readonly tree: SourceTree,
    private readonly instruction: Instruction,
    private readonly ignores: ((path: string) => boolean) | undefined,
  ) {}

  fail(message: string): CopyError {
    return new CopyError(`${this.instruction} failed: ${message}`);
  }

  resolve(source: string): ResolvedSource[] {
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
      for (const match of this.expand(rel)) {
        const resolved = this.resolvePath(source, match, match);
        if (resolved) matches.push(resolved);
      }
      return matches;
    }
    const resolved = this.resolvePath(source, rel, shown);
    if (!resolved) {
      throw this.fail(`file not found in build context or excluded by .dockerignore: stat ${shown}: file does not exist`);
    }
    return [resolved];
  }

  private isIgnored(rel: string): boolean {
    return rel !== '' && this.ignores !== undefined && this.ignores(rel);
  }

  /** Context paths matching a wildcard pattern, in the order a walk of the context meets them. */
  private expand(pattern: string): string[] {
    const parts = pattern.split('/');
    const matchers = parts.map((part) => compileComponent(part));
    if (matchers.some((matcher) => matcher === null)) return [];
    const found: string[] = [];
    const visit = (dir: string, depth: number): void => {
      const names = this.tree.readdir(dir) ?? [];
      for (const name of names) {
        if (!matchers[depth]!(name)) continue;
        const rel = joinRel(dir, name);
        if (depth === parts.length - 1) found.push(rel);
        // Like filepath.Walk, never descend through a symlink.
        else if (this.tree.lstat(rel)?.type === 'directory') visit(rel, depth + 1);
      }
    };
    visit('', 0);
    return found;
  }

  /** The source at `rel` (symlinks followed inside the context), or null when it is not there. */
  private resolvePath(source: string, rel: string, shown: string): ResolvedSource | null {
    let target;
    try {
      target = resolveInTree(this.tree, rel, 'contain');
    } catch (err) {
      if (err instanceof SymlinkEscapeError) {
        throw this.fail(
          `forbidden path outside the build context: ${shown} (symlink ${err.link} -> ${err.target} leads outside the context)`,
        );
      }
      throw err;
    }
    if (target.node === null) return null;
    const ignored = this.isIgnored(rel) || this.isIgnored(target.rel);
    const hostPath = join(this.tree.root, target.rel);
    const base = { source, path: rel, name: basenameRel(rel), hostPath, remote: false };

    if (target.node.type === 'directory') {
      const entries = this.walk(target.rel, hostPath);
      // An ignored directory is there only for what `!exceptions` brought back inside it.
      if (ignored && entries.length === 0) return null;
      return { ...base, kind: 'directory', entries };
    }
    if (ignored) return null;
    if (target.node.type !== 'file') throw this.fail(`${shown} is not a regular file or directory`);
    return { ...base, kind: 'file', entries: [entryOf('', hostPath, target.node)] };
  }

  /** Every visible descendant of a context directory, depth first, names in byte order. */
  private walk(dirRel: string, dirHost: string): SourceEntry[] {
    const entries: SourceEntry[] = [];
    const visit = (below: string): number => {
      let visible = 0;
      for (const name of this.tree.readdir(joinRel(dirRel, below)) ?? []) {
        const path = joinRel(below, name);
        const hostPath = join(dirHost, path);
        const node = this.tree.lstat(joinRel(dirRel, path));
        if (node === null) continue;
        const ignored = this.isIgnored(joinRel(dirRel, path));
        if (node.type === 'directory') {
          // An ignored directory is not listed, but `!exceptions` may bring back files below it.
          if (!ignored) entries.push(entryOf(path, hostPath, node));
          const inside = visit(path);
          visible += ignored ? inside : inside + 1;
          continue;
        }
        if (ignored) continue;
        if (node.type === 'symlink') {
          entries.push(entryOf(path, hostPath, node, this.tree.readlink(joinRel(dirRel, path))));
        } else if (node.type === 'file') {
          entries.push(entryOf(path, hostPath, node));
        } else {
          throw this.fail(`${joinRel(dirRel, path)} is not a regular file, directory or symlink`);
        }
        visible++;
      }
      return visible;
    };
    visit('');
    return entries;
  }
}

function entryOf(path: string, hostPath: string, node: TreeNode, linkTarget?: string): SourceEntry {
  const type = node.type === 'directory' ? 'directory' : node.type === 'symlink' ? 'symlink' : 'file';
  return {
    path,
    type,
    hostPath,
    mode: node.mode,
    size: type === 'file' ? node.size : 0,
    mtimeMs: node.mtimeMs,
    ...(linkTarget === undefined ? {} : { linkTarget }),
    ...(node.digest === undefined ? {} : { digest: node.digest }),
  };
}
