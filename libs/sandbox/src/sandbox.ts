import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareMountPoints } from './bundle';
import { SandboxError } from './errors';
import { locateHostTools } from './host-tools';
import type { HostTools } from './host-tools';
import { NOFILE_LIMIT, ociConfig, type ResourceLimits } from './oci-config';
import { ended, openOutputPipes, readerOf, returnFifos, StderrGate } from './output';
import type { OutputPipes } from './output';
import { RootfsLedger } from './rootfs-ledger';
import { deleteLeftover, killContainer, pidFile, runcError, spawnRun } from './runc';
import type { Container } from './runc';
import { cleanInRootPath, resolveInRoot } from './scoped-path';
import { resolveExecUser } from './user';
import type { ExecUser } from './user';
import { openWorkspace } from './workspace';
import type { Workspace } from './workspace';

export interface SandboxRun {
  /** The rootfs directory (read-write; the command's changes land here). */
  root: string;
  /** Already resolved: shell form → [...shell, cmd], exec form as given. */
  argv: string[];
  /**
   * KEY=VALUE list, exactly what the process sees, plus Docker's default PATH when it has none and,
   * when it has no HOME, the one runc adds: the USER's home directory in the image's passwd, else /.
   */
  env: string[];
  /** Dockerfile USER: 'name', 'uid', 'uid:gid', 'name:group'; resolved against the rootfs. */
  user?: string;
  /** Created if missing (0755, root-owned), as Docker does; default '/'. */
  workdir?: string;
  /** 'none' = own network namespace with only lo (up); 'host' = the host's network. */
  network: 'none' | 'host';
  /** Own UTS namespace; default a random 12-hex-digit id. */
  hostname?: string;
  /** Abort kills the whole process tree and rejects with SandboxError ABORTED. */
  signal?: AbortSignal;
  onOutput?(chunk: Buffer, stream: 'stdout' | 'stderr'): void;
  /** Kills the whole process tree after this long and rejects with SandboxError TIMEOUT. */
  timeoutMs?: number;
  /** Memory, CPU and /dev/shm limits (docker build's resource options); cgroup ones need a root builder. */
  limits?: ResourceLimits;
}

export interface SandboxResult {
  /** The command's exit status; 128 + signal number when it was killed by a signal. */
  exitCode: number;
  /** Only when runc itself was ended by this signal (runc reports the command's signals in exitCode). */
  signal?: string;
  /** Wall time of the whole call, setup and cleanup included. */
  durationMs: number;
}

/** The PATH Docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Request {
  argv: string[];
  env: string[];
  workdir: string;
  network: 'none' | 'host';
  hostname: string;
}

function invalid(message: string): SandboxError {
  return new SandboxError('INVALID', message);
}

function normalize(input: SandboxRun): Request {
  if (!Array.isArray(input.argv) || input.argv.length === 0 || input.argv[0] === '') {
    throw invalid('argv must name the command to run');
  }
  if (!Array.isArray(input.env)) throw invalid('env must be a list of KEY=VALUE strings');
  for (const entry of input.env) {
    if (!/^[^=]+=/.test(entry)) throw invalid(`environment entry ${JSON.stringify(entry)} is not KEY=VALUE`);
  }
  for (const text of [...input.argv, ...input.env, input.workdir ?? '', input.user ?? '']) {
    if (text.includes('\0')) throw invalid(`${JSON.stringify(text)} contains a NUL byte`);
  }
  if (input.network !== 'none' && input.network !== 'host') {
    throw invalid(`network must be 'none' or 'host', not ${JSON.stringify(input.network)}`);
  }
  const hostname = input.hostname ?? randomBytes(6).toString('hex');
  // The kernel takes up to 64 bytes; anything else would break /etc/hosts.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(hostname)) throw invalid(`hostname ${JSON.stringify(hostname)} is not a valid host name`);
  for (const [key, value] of Object.entries(input.limits ?? {})) {
    if (key === 'cpusetCpus' ? !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(String(value)) : !Number.isSafeInteger(value) || (value as number) < (key === 'memorySwap' ? -1 : 1)) {
      throw invalid(`limit ${key} ${JSON.stringify(value)} is not valid`);
    }
  }
  if (input.timeoutMs !== undefined && !(input.timeoutMs > 0 && Number.isFinite(input.timeoutMs))) {
    throw invalid(`timeoutMs must be a positive number of milliseconds, not ${input.timeoutMs}`);
  }
  const env = input.env.some((entry) => entry.startsWith('PATH=')) ? [...input.env] : [`PATH=${DEFAULT_PATH}`, ...input.env];
  return { argv: [...input.argv], env, workdir: cleanInRootPath(input.workdir ?? '/'), network: input.network, hostname };
}

async function openRoot(root: string): Promise<string> {
  let resolved: string;
  try {
    resolved = await realpath(root);
  } catch (err) {
    throw invalid(`root filesystem ${root} does not exist: ${(err as Error).message}`);
  }
  if (!(await lstat(resolved)).isDirectory()) throw invalid(`root filesystem ${root} is not a directory`);
  return resolved;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Docker creates a missing working directory (0755, owned by root) when the container starts. */
async function ensureWorkdir(root: string, workdir: string): Promise<void> {
  const target = await resolveInRoot(root, workdir);
  let current = root;
  for (const part of path.relative(root, target).split(path.sep).filter(Boolean)) {
    current = path.join(current, part);
    const st = await lstatOrNull(current);
    if (!st) {
      await mkdir(current);
      await chmod(current, 0o755);
    } else if (!st.isDirectory()) {
      throw new SandboxError('SETUP', `cannot use ${workdir} as the working directory: /${path.relative(root, current)} is not a directory`);
    }
  }
}

function assertMappable(user: ExecUser, privileged: boolean, spec: string | undefined): void {
  if (privileged || (user.uid === 0 && user.gid === 0)) return;
  throw new SandboxError(
    'USER',
    `USER ${spec} (uid ${user.uid}, gid ${user.gid}) needs a root builder: the unprivileged sandbox's user namespace maps only root`,
  );
}

/** A limit that cannot be enforced is refused, never silently dropped: a build farm relies on it. */
function assertLimitsApply(limits: ResourceLimits | undefined, privileged: boolean): void {
  if (!limits || privileged) return;
  const cgroup = (['memory', 'memorySwap', 'cpuShares', 'cpuPeriod', 'cpuQuota', 'cpusetCpus'] as const).filter((key) => limits[key] !== undefined);
  if (cgroup.length) throw new SandboxError('INVALID', `${cgroup.join(', ')} need a root builder: the unprivileged sandbox has no cgroups to enforce them`);
}

let nofile: number | undefined;

/** Docker's RLIMIT_NOFILE, or this process's hard limit when that is lower. */
function nofileLimit(): number {
  if (nofile !== undefined) return nofile;
  nofile = NOFILE_LIMIT;
  try {
    const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (hard && /^\d+$/.test(hard)) nofile = Math.min(NOFILE_LIMIT, Number(hard));
  } catch {
    // no /proc: keep Docker's value
  }
  return nofile;
}

function setupHint(message: string, privileged: boolean): string {
  if (!/operation not permitted|permission denied/i.test(message)) return '';
  return privileged
    ? ' (the kernel refused namespaces, mounts or cgroups: a builder inside a container needs CAP_SYS_ADMIN, write access to the cgroup filesystem and no seccomp/AppArmor block on unshare/mount)'
    : ' (unprivileged user namespaces look disabled: enable them with sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces, or run the builder as root)';
}

interface Execution {
  container: Container;
  workspace: Workspace;
  privileged: boolean;
  argv0: string;
  input: SandboxRun;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };
type StopReason = 'abort' | 'timeout' | 'handler';

function waitForExit(child: ChildProcess, tools: HostTools): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.once('error', (err) =>
      reject(new SandboxError('UNAVAILABLE', `cannot start ${tools.runc}: ${err.message}`, { cause: err })),
    );
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

function spawnContainer(x: Execution, pipes: OutputPipes): ChildProcess {
  try {
    return spawnRun(x.container, pipes.writeEnds[0], pipes.writeEnds[1]);
  } finally {
    // runc and the command hold the write ends now; EOF comes when the last of them is gone.
    for (const fd of pipes.writeEnds) closeSync(fd);
  }
}

/**
 * runc could not start the command. Like Docker's daemon, a command that cannot be found or
 * executed gets exit status 127 or 126, with runc's message on its stderr; anything else is SETUP.
 */
async function notStarted(x: Execution, exit: Exit, withheld: string): Promise<Exit> {
  const message = (await runcError(x.container)) ?? (withheld.trim() || `runc ended with ${exit.signal ?? `exit code ${exit.code}`}`);
  if (message.includes(`exec: ${JSON.stringify(x.argv0)}: `)) {
    x.input.onOutput?.(Buffer.from(`${message}\n`), 'stderr');
    return { code: /permission denied/i.test(message) ? 126 : 127, signal: null };
  }
  throw new SandboxError('SETUP', `sandbox setup failed: ${message}${setupHint(message, x.privileged)}`);
}

/** Starts the container, streams output, enforces abort/timeout, and waits for every process. */
async function execute(x: Execution): Promise<Exit> {
  const pipes = await openOutputPipes(x.workspace.dir, x.container.tools.mkfifo);
  const child = spawnContainer(x, pipes);
  const readers = [readerOf(pipes.readEnds[0]), readerOf(pipes.readEnds[1])];
  const drained = Promise.all(readers.map(ended));

  let exited = false;
  let stopped: StopReason | undefined;
  let handlerError: unknown;
  const stop = (why: StopReason): void => {
    if (stopped) return;
    stopped = why;
    void killContainer(x.container, child, () => exited);
  };
  child.once('exit', () => (exited = true));

  const deliver = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    if (handlerError !== undefined) return;
    try {
      x.input.onOutput?.(chunk, stream);
    } catch (err) {
      handlerError = err;
      stop('handler');
    }
  };
  const stderr = new StderrGate(pidFile(x.container), deliver('stderr'));
  readers[0].on('data', deliver('stdout'));
  readers[1].on('data', (chunk: Buffer) => stderr.push(chunk));

  const onAbort = (): void => stop('abort');
  x.input.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = x.input.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), x.input.timeoutMs) : undefined;
  if (x.input.signal?.aborted) stop('abort');

  try {
    const exit = await waitForExit(child, x.container.tools);
    // Before waiting for EOF: a container whose runc was killed still holds the pipes.
    await deleteLeftover(x.container);
    await drained;
    const withheld = stderr.finish();
    if (handlerError !== undefined) throw handlerError;
    if (stopped === 'abort') {
      throw new SandboxError('ABORTED', 'the sandboxed command was aborted and all its processes were killed', { cause: x.input.signal?.reason });
    }
    if (stopped === 'timeout') {
      throw new SandboxError('TIMEOUT', `the sandboxed command did not finish within ${x.input.timeoutMs} ms; all its processes were killed`);
    }
    return withheld === undefined ? exit : await notStarted(x, exit, withheld);
  } finally {
    clearTimeout(timer);
    x.input.signal?.removeEventListener('abort', onAbort);
    stderr.finish();
    for (const reader of readers) reader.destroy();
    await returnFifos(pipes.fifos, drained);
  }
}

function toResult(exit: Exit, started: number): SandboxResult {
  const durationMs = performance.now() - started;
  if (exit.signal) return { exitCode: 128 + (os.constants.signals[exit.signal] ?? 0), signal: exit.signal, durationMs };
  return { exitCode: exit.code ?? 0, durationMs };
}

async function requireTools(): Promise<HostTools> {
  if (process.platform !== 'linux') throw new SandboxError('UNAVAILABLE', `the sandbox needs Linux namespaces; this host runs ${process.platform}`);
  const tools = await locateHostTools();
  if (typeof tools === 'string') throw new SandboxError('UNAVAILABLE', tools);
  return tools;
}

/**
 * Runs one Dockerfile RUN command inside `root` in a runc container (own PID, mount, UTS, IPC
 * and, for network 'none', network namespaces; Docker's capabilities, seccomp filtering, masked
 * paths and devices), the way Docker's legacy builder runs it. Resolves with the exit status
 * (non-zero is a result); rejects with SandboxError when the command could not run, was aborted,
 * or timed out. Anything created in the rootfs for the sandbox is removed before the promise settles.
 */
export async function runInSandbox(input: SandboxRun): Promise<SandboxResult> {
  const started = performance.now();
  const request = normalize(input);
  if (input.signal?.aborted) throw new SandboxError('ABORTED', 'the sandboxed command was aborted before it started', { cause: input.signal.reason });
  const tools = await requireTools();
  const root = await openRoot(input.root);
  // Two runs would create and remove each other's mount points.
  if (rootsInUse.has(root)) throw invalid(`root filesystem ${root} is already in use by another sandboxed command`);
  rootsInUse.add(root);
  try {
    return toResult(await runInRoot(tools, root, request, input), started);
  } finally {
    rootsInUse.delete(root);
  }
}

const rootsInUse = new Set<string>();

async function runInRoot(tools: HostTools, root: string, request: Request, input: SandboxRun): Promise<Exit> {
  const privileged = process.getuid?.() === 0;
  const user = await resolveExecUser(root, input.user);
  assertMappable(user, privileged, input.user);
  assertLimitsApply(input.limits, privileged);
  await ensureWorkdir(root, request.workdir);
  const workspace = await openWorkspace(tools);

  const bundle = await mkdtemp(path.join(workspace.dir, 'run-'));
  const ledger = new RootfsLedger(root, tools.touch);
  let outcome: { exit?: Exit; error?: unknown } = {};
  try {
    const { files, sysfs } = await prepareMountPoints({ bundle, ledger, network: request.network, hostname: request.hostname, privileged });
    const container: Container = { tools, id: randomBytes(8).toString('hex'), bundle, state: workspace.state, rootless: !privileged };
    const config = ociConfig({
      id: container.id,
      root,
      argv: request.argv,
      env: request.env,
      cwd: request.workdir,
      user,
      hostname: request.hostname,
      network: request.network,
      rootless: privileged ? undefined : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
      files,
      sysfs,
      nofile: nofileLimit(),
      limits: input.limits,
      arch: process.arch,
      kernelRelease: os.release(),
    });
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(config));
    outcome = { exit: await execute({ container, workspace, privileged, argv0: request.argv[0], input }) };
  } catch (err) {
    outcome = { error: err };
  }
  try {
    await ledger.restore();
  } catch (err) {
    outcome.error ??= err;
  }
  await rm(bundle, { recursive: true, force: true });
  if (outcome.error !== undefined || !outcome.exit) throw outcome.error;
  return outcome.exit;
}
