import { posix } from 'node:path';
import { sniffArchive } from './archive-sniff';
import { CopyError } from './errors';
import { readFileNoFollow } from './fs-util';
import type { Instruction } from './errors';
import { joinRel } from '@cargohold/context-index';
import type { ResolvedPath } from './scoped-path';
import { resolveBelow } from './scoped-path';
import { unpackTar } from './tar-unpack';
import type { Identity, TreeEntry } from './tree-writer';
import { TreeWriter } from './tree-writer';
import type { ResolvedSource, SourceEntry } from './types';

export interface CopyIntoOptions {
  /** The stage's WORKDIR; a relative `dest` counts from it. */
  workdir: string;
  /** Owner of everything copied (and of directories created for a file); 0:0 when absent. */
  chown?: Identity;
  /** Permission bits forced on copied files and directories (`--chmod`). */
  chmod?: number;
  /** ADD rather than COPY: names the instruction in messages, and extracts archives by default. */
  isAdd?: boolean;
  /** Extract local tar archives (plain or gzip) into `dest`; defaults to `isAdd`. */
  extractArchives?: boolean;
  /** Refuse an archive whose uncompressed tar is larger than this while extracting it. */
  maxExtractBytes?: number;
}

const ROOT: Identity = { uid: 0, gid: 0 };
/** moby names a download that gave no file name so. */
const UNNAMED = '__unnamed__';

/** COPY/ADD `dest` as an absolute path: relative to `workdir`, a trailing `/` kept (moby's normalizeDest). */
export function normalizeDest(workdir: string, dest: string): string {
  if (dest.startsWith('/')) return dest;
  const joined = posix.join('/', workdir, dest);
  return dest.endsWith('/') && !joined.endsWith('/') ? `${joined}/` : joined;
}

/** An absolute container path as a rootfs-relative one; `..` stops at `/`, as in a chroot. */
function inRootfs(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

/**
 * Copies resolved sources into the rootfs at `dest` by the legacy builder's rules: a directory's
 * contents are copied into `dest` (created when missing); a file goes into `dest` when it ends in
 * `/` or is a directory, else becomes `dest`; several sources need a `dest` ending in `/`; with ADD,
 * a local tar (plain or gzip) is extracted into `dest` instead. Modes and mtimes are kept, owners
 * become `chown` (0:0 by default) except in extracted archives, which keep their own. `dest` and
 * every path below it are resolved inside the rootfs, its symlinks followed as if the rootfs were
 * `/`, so nothing is ever written outside `rootfs`.
 */
export async function copyInto(
  sources: readonly ResolvedSource[],
  rootfs: string,
  dest: string,
  options: CopyIntoOptions,
): Promise<void> {
  const instruction: Instruction = options.isAdd ? 'ADD' : 'COPY';
  if (sources.length === 0) throw new CopyError(`${instruction} failed: no source files were specified`);
  if (sources.length > 1 && !dest.endsWith('/')) {
    throw new CopyError(
      `When using ${instruction} with more than one source file, the destination must be a directory and end with a /`,
    );
  }
  const copier = new Copier(rootfs, normalizeDest(options.workdir, dest), instruction, options);
  for (const source of sources) {
    try {
      await copier.copy(source);
    } catch (err) {
      if (err instanceof CopyError) throw err;
      // Host paths of the rootfs mean nothing to the user: show container paths.
      const message = (err as Error).message.split(rootfs).join('');
      throw new CopyError(`failed to copy files: ${message}`, { cause: err });
    }
  }
}

class Copier {
  private readonly identity: Identity;
  private readonly extract: boolean;

  constructor(
    private readonly rootfs: string,
    private readonly dest: string,
    private readonly instruction: Instruction,
    private readonly options: CopyIntoOptions,
  ) {
    this.identity = options.chown ?? ROOT;
    this.extract = options.extractArchives ?? options.isAdd ?? false;
  }

  async copy(source: ResolvedSource): Promise<void> {
    const target = await resolveBelow(this.rootfs, inRootfs(this.dest), 'scope');
    if (source.kind === 'directory') return this.copyDirectory(source, target);
    if (this.extract && !source.remote) {
      const archive = await sniffArchive(source.hostPath);
      if (archive.tar) return this.extractArchive(source, target);
      if (archive.compression !== 'none' && archive.compression !== 'gzip') {
        throw new CopyError(
          `${this.instruction} failed: cannot extract ${source.path}: ${archive.compression}-compressed archives are not ` +
            `supported (only plain and gzip-compressed tar); use COPY to add the file as it is`,
        );
      }
    }
    return this.copyFile(source, target);
  }

  /** A file becomes `dest`, or goes into it when `dest` ends in `/` or is a directory. */
  private async copyFile(source: ResolvedSource, target: ResolvedPath): Promise<void> {
    let rel = target.rel;
    if (this.dest.endsWith('/') || target.stats?.isDirectory()) {
      if (source.name === '' && this.dest.endsWith('/')) {
        throw new CopyError(`${this.instruction} failed: cannot determine filename for source ${source.path}`);
      }
      rel = joinRel(rel, source.name || UNNAMED);
    }
    if (rel === '') throw new CopyError(`${this.instruction} failed: cannot copy ${source.path} over the root directory`);
    // moby creates a file's missing parent directories with the chown identity, mode 0755.
    const writer = this.writer(this.rootfs, { parentOwner: this.identity, label: `destination ${this.dest}` });
    const file = source.entries[0]!;
    await writer.copyFile(this.entry(rel, file), file.hostPath, file.size);
  }

  /** The contents of a directory merge into `dest` (tar -x semantics, later wins). */
  private async copyDirectory(source: ResolvedSource, target: ResolvedPath): Promise<void> {
    if (target.stats && !target.stats.isDirectory()) {
      throw new CopyError(
        `${this.instruction} failed: cannot copy directory ${source.path || '.'} to ${this.dest}: ` +
          'it exists and is not a directory',
      );
    }
    // A directory the copy creates is owned by the identity; one that was there keeps its owner and mode.
    if (!target.stats) {
      const made = this.writer(this.rootfs, { parentOwner: ROOT, label: `destination ${this.dest}` });
      await made.directory({ path: target.rel, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date() });
    }
    const label = `${this.instruction} source ${source.path || '.'}`;
    const writer = this.writer(target.hostPath, { parentOwner: this.identity, label });
    for (const entry of source.entries) {
      const tree = this.entry(entry.path, entry);
      if (entry.type === 'directory') await writer.directory(tree);
      else if (entry.type === 'symlink') await writer.symlink({ ...tree, linkname: entry.linkTarget });
      else await writer.copyFile(tree, entry.hostPath, entry.size);
    }
    await writer.finish();
  }

  /** ADD of a local tar: its entries, with their own owners and modes, land inside `dest`. */
  private async extractArchive(source: ResolvedSource, target: ResolvedPath): Promise<void> {
    if (target.stats && !target.stats.isDirectory()) {
      throw new CopyError(`${this.instruction} failed: cannot extract ${source.path} into ${this.dest}: it is not a directory`);
    }
    // moby's untar creates a missing destination, and its parents, as root with mode 0755.
    if (!target.stats) {
      const made = this.writer(this.rootfs, { owner: ROOT, chmod: null, parentOwner: ROOT, label: `destination ${this.dest}` });
      await made.directory({ path: target.rel, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date() });
    }
    const label = `archive ${source.path}`;
    const writer = new TreeWriter({
      root: target.hostPath,
      parents: 'scope',
      owner: 'header',
      parentOwner: ROOT,
      checkSymlinkTargets: true,
      label,
      rootName: 'destination',
    });
    await unpackTar(readFileNoFollow(source.hostPath), {
      label,
      writer,
      maxBytes: this.options.maxExtractBytes,
    });
  }

  private writer(
    root: string,
    options: { parentOwner: Identity; label: string; owner?: Identity; chmod?: null },
  ): TreeWriter {
    return new TreeWriter({
      root,
      parents: 'scope',
      owner: options.owner ?? this.identity,
      chmod: options.chmod === null ? undefined : this.options.chmod,
      parentOwner: options.parentOwner,
      checkSymlinkTargets: false,
      label: options.label,
      rootName: 'destination',
    });
  }

  private entry(path: string, from: SourceEntry): TreeEntry {
    return {
      path,
      type: from.type,
      mode: from.mode,
      uid: this.identity.uid,
      gid: this.identity.gid,
      mtime: new Date(from.mtimeMs),
    };
  }
}
