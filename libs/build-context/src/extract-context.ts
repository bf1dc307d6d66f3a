import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { cleanRelative } from '@cargohold/context-index';
import { unpackTar } from './tar-unpack';
import { TreeWriter } from './tree-writer';

export interface ExtractContextOptions {
  /**
   * The .dockerignore verdict for a context-relative path (`src/app.js`: no leading `./` or `/`, no
   * trailing `/`); matching entries are not written. Asked of every entry, directories included,
   * so a matcher with `!exceptions` can bring back files below an ignored directory.
   */
  ignores?: (path: string) => boolean;
  /** Refuse a context whose uncompressed tar is larger than this. */
  maxBytes?: number;
  /** Paths written even when ignored: the Dockerfile and `.dockerignore` the build reads. */
  keep?: string[];
}

export interface ExtractContextResult {
  /** Entries written other than directories (files, symlinks, hard links). */
  files: number;
  /** Bytes of regular-file content written. */
  bytes: number;
}

/**
 * Unpacks the build context tar the docker CLI sends (plain, or gzip with `--compress`) into
 * `dir`. Absolute entry names count from `dir`; an entry that climbs out with `..`, a symlink whose
 * relative target leaves the context, a hard link to anything outside or missing, a device or fifo,
 * or an entry below a symlink is refused with an UnsafeArchiveError naming it, and nothing is ever
 * written outside `dir`. A malformed tar is an ArchiveError. On failure `dir` may hold part of the
 * context: the caller removes it.
 */
export async function extractContext(
  source: Readable,
  dir: string,
  options: ExtractContextOptions = {},
): Promise<ExtractContextResult> {
  await mkdir(dir, { recursive: true });
  const keep = new Set((options.keep ?? []).map((path) => cleanRelative(path)).filter((path) => path !== null));
  const ignores = options.ignores;
  const writer = new TreeWriter({
    root: dir,
    parents: 'refuse',
    owner: 'keep',
    checkSymlinkTargets: true,
    label: 'build context',
    rootName: 'build context',
  });
  return unpackTar(source, {
    label: 'build context',
    writer,
    maxBytes: options.maxBytes,
    accept: ignores ? (path) => keep.has(path) || !ignores(path) : undefined,
  });
}
