import { spawn } from 'node:child_process';
import { RootfsError, errnoCode } from './errors';
import { formatXattrDump, parseXattrDump } from './xattr-dump';
import type { XattrDump } from './xattr-dump';

/*
 * Node has no xattr calls, so extended attributes go through the `getfattr` and `setfattr`
 * commands of the Debian package "attr": one process per batch of paths, never one per file.
 */

interface Completed {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Arguments per getfattr call stay far below ARG_MAX (2 MiB on Linux). */
const BATCH_ARG_BYTES = 128 * 1024;

function run(command: string, args: string[], input: string | null, purpose: string): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (err) => {
      if (errnoCode(err) === 'ENOENT') {
        reject(new RootfsError(`${command} is not installed (Debian package "attr"); it is needed to ${purpose}`));
      } else {
        reject(new RootfsError(`${command} could not be started to ${purpose}: ${err.message}`));
      }
    });
    child.once('close', (code) => {
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8').trim() });
    });
    if (input !== null && child.stdin) {
      child.stdin.on('error', () => undefined); // an early exit is reported by 'close'
      child.stdin.end(input);
    }
  });
}

function batches(paths: readonly string[]): string[][] {
  const out: string[][] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (const path of paths) {
    const length = Buffer.byteLength(path) + 1;
    if (batch.length > 0 && bytes + length > BATCH_ARG_BYTES) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(path);
    bytes += length;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** getfattr's complaint about a path that does not exist (the caller reports those itself). */
const MISSING_PATH = /: No such file or directory$/;

function checked(result: Completed, command: string, purpose: string, tolerateMissing = false): string {
  const onlyMissing = tolerateMissing && result.code === 1 && result.stderr.split('\n').every((line) => MISSING_PATH.test(line));
  if (result.code !== 0 && !onlyMissing) {
    throw new RootfsError(`${command} failed (exit ${result.code}) to ${purpose}: ${result.stderr || 'no message'}`);
  }
  return result.stdout;
}

/**
 * The attributes whose names match `pattern` (a getfattr regular expression) on each of `paths`
 * (absolute; symlinks themselves, never their targets). Paths without a match, and paths that do
 * not exist, are absent.
 */
export async function readXattrs(paths: readonly string[], pattern: string, purpose: string): Promise<XattrDump> {
  const out: XattrDump = new Map();
  for (const batch of batches(paths)) {
    const args = ['--absolute-names', '--no-dereference', '--dump', '--match', pattern, '--encoding', 'hex', '--', ...batch];
    const dump = parseXattrDump(checked(await run('getfattr', args, null, purpose), 'getfattr', purpose, true));
    for (const [path, attrs] of dump) out.set(path, attrs);
  }
  return out;
}

/** Like readXattrs for every file under `dir` (absolute), in one walk that follows no symlink. */
export async function readXattrsUnder(dir: string, pattern: string, purpose: string): Promise<XattrDump> {
  const args = ['--absolute-names', '--no-dereference', '--recursive', '--physical', '--dump', '--match', pattern, '--encoding', 'hex', '--', dir];
  return parseXattrDump(checked(await run('getfattr', args, null, purpose), 'getfattr', purpose));
}

/** Sets the given attributes (absolute paths; symlinks themselves) with one setfattr process. */
export async function writeXattrs(dump: ReadonlyMap<string, ReadonlyMap<string, Buffer>>, purpose: string): Promise<void> {
  const text = formatXattrDump(dump);
  if (text === '') return;
  checked(await run('setfattr', ['--no-dereference', '--restore=-'], text, purpose), 'setfattr', purpose);
}
