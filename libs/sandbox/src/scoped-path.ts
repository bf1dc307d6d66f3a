import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { SandboxError } from './errors';

// Linux gives up after 40 nested links; Docker's FollowSymlinkInScope allows 255.
const MAX_SYMLINKS = 255;

/**
 * Lexically cleans a path meant inside the root filesystem: always absolute, no `.`/`..`/empty
 * parts, `..` never climbing above `/` (as Docker cleans WORKDIR and mount destinations).
 */
export function cleanInRootPath(p: string): string {
  return '/' + cleanParts(p.split('/')).join('/');
}

function cleanParts(parts: string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The host path of `inRootPath` with every symlink on the way resolved as the sandboxed process
 * would see it: absolute link targets start again at `root`, and `..` stops at `root`. Without
 * this, an image whose /etc is a link to `/somewhere` would make us create or mount files on the
 * host's /somewhere. The part of the path that does not exist yet is appended as is (cleaned).
 */
export async function resolveInRoot(root: string, inRootPath: string): Promise<string> {
  const pending = cleanInRootPath(inRootPath).split('/').filter(Boolean);
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, name);
    let isLink: boolean;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (err) {
      if (!isMissing(err)) throw err;
      return path.join(root, ...cleanParts([...resolved, name, ...pending]));
    }
    if (!isLink) {
      resolved.push(name);
      continue;
    }
    if (++links > MAX_SYMLINKS) {
      throw new SandboxError('SETUP', `too many levels of symbolic links resolving ${inRootPath} in the root filesystem`);
    }
    const target = await readlink(candidate);
    if (target.startsWith('/')) resolved = [];
    pending.unshift(...target.split('/'));
  }
  return path.join(root, ...resolved);
}
