import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SandboxError } from './errors';
import { HOST_PATH, locateHostTools } from './host-tools';
import type { HostTools } from './host-tools';
import { killSandboxTree, trackSandbox, untrackSandbox } from './process-tree';
import { RootfsLedger } from './rootfs-ledger';
import { cleanInRootPath, resolveInRoot } from './scoped-path';
import { preparePlan, READY_TOKEN, setupScript } from './setup-plan';
import type { Plan } from './setup-plan';
import { resolveExecUser } from './user';
import type { ExecUser } from './user';
import { discardFifos, releaseFifos, takeFifos, workspace } from './workspace';

export interface SandboxRun {
  /** The rootfs directory (read-write; the command's changes land here). */
  root: string;
  /** Already resolved: shell form → [...shell, cmd], exec form as given. */
  argv: string[];
  /** KEY=VALUE list, exactly what the process sees (plus Docker's default PATH when it has none). */
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
}

export interface SandboxResult {
  /** The command's exit status; 128 + signal number when it was killed by a signal. */
  exitCode: number;
  signal?: string;
  /** Wall time of the whole call, setup and cleanup included. */
  durationMs: number;
}

/** The PATH Docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's default capability set: everything else is dropped from the bounding set. */
const DOCKER_CAPABILITIES = [
  'chown',
  'dac_override',
  'fsetid',
  'fowner',
  'mknod',
  'net_raw',
  'setgid',
  'setuid',
  'setfcap',
  'setpcap',
  'net_bind_service',
  'sys_chroot',
  'kill',
  'audit_write',
];

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

/** env -i → setpriv (groups, capabilities) → unshare (chroot, cwd, uid) → the command. */
function commandLine(tools: HostTools, root: string, request: Request, user: ExecUser, privileged: boolean): string[] {
  const setpriv = [`--bounding-set=-all,${DOCKER_CAPABILITIES.map((cap) => `+${cap}`).join(',')}`];
  // In a user namespace setgroups(2) is denied and only root is mapped: nothing to switch to.
  if (privileged) {
    const groups = user.supplementaryGids.length > 0 ? `--groups=${user.supplementaryGids.join(',')}` : '--clear-groups';
    setpriv.unshift(`--regid=${user.gid}`, groups);
  }
  const enter = [`--root=${root}`, `--wd=${request.workdir}`, ...(user.uid !== 0 ? [`--setuid=${user.uid}`] : [])];
  return [tools.env, '-i', '--', ...request.env, tools.setpriv, ...setpriv, '--', tools.unshare, ...enter, '--', ...request.argv];
}

function namespaceFlags(privileged: boolean, network: 'none' | 'host'): string[] {
  return [
    ...(privileged ? [] : ['--user', '--map-root-user']),
    '--pid',
    '--fork',
    '--kill-child',
    '--mount',
    '--propagation',
    'private',
    '--uts',
    '--ipc',
    ...(network === 'none' ? ['--net'] : []),
  ];
}

interface OutputPipes {
  fifos: [string, string];
  readEnds: [number, number];
  writeEnds: [number, number];
}

/**
 * Real pipes for stdout and stderr. Node's stdio 'pipe' is a socketpair, and opening
 * /dev/stdout on a socket fails (ENXIO), which breaks `echo x > /dev/stderr` in RUN lines.
 * The read ends are non-blocking; with them open, opening the write ends does not block.
 */
async function openOutputPipes(tools: HostTools): Promise<OutputPipes> {
  const fifos = await takeFifos(tools.mkfifo);
  const opened: number[] = [];
  try {
    for (const name of fifos) opened.push(openSync(name, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK));
    for (const name of fifos) opened.push(openSync(name, fsConstants.O_WRONLY));
  } catch (err) {
    for (const fd of opened) closeSync(fd);
    await discardFifos(fifos);
    throw err;
  }
  return { fifos, readEnds: [opened[0], opened[1]], writeEnds: [opened[2], opened[3]] };
}

/** Reuse the FIFOs only when every end is known closed; otherwise retire them. */
async function returnFifos(fifos: [string, string], drained: Promise<unknown>): Promise<void> {
  const closed = await Promise.race([drained.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
  if (closed) releaseFifos(fifos);
  else await discardFifos(fifos);
}

function ended(stream: net.Socket): Promise<void> {
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

function setupHint(status: string, privileged: boolean): string {
  if (!/Operation not permitted|Permission denied/.test(status)) return '';
  return privileged
    ? ' (the kernel refused namespaces or mounts: a builder inside a container needs CAP_SYS_ADMIN and no seccomp/AppArmor block on unshare/mount)'
    : ' (unprivileged user namespaces look disabled: enable them with sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces, or run the builder as root)';
}

interface Execution {
  tools: HostTools;
  plan: Plan;
  request: Request;
  command: string[];
  privileged: boolean;
  input: SandboxRun;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };
type StopReason = 'abort' | 'timeout' | 'handler';

function unshareArgs(x: Execution): string[] {
  const { plan, request } = x;
  const setup = [plan.fstabEarly, plan.devTemplate, plan.dev, plan.fstabLate, request.hostname, request.network];
  return [...namespaceFlags(x.privileged, request.network), '--', x.tools.sh, '-c', setupScript(x.tools), 'cargohold-sandbox', ...setup, ...x.command];
}

function spawnSandbox(x: Execution, pipes: OutputPipes): ChildProcess {
  try {
    return spawn(x.tools.unshare, unshareArgs(x), {
      stdio: ['ignore', pipes.writeEnds[0], 'pipe', pipes.writeEnds[1]],
      env: { PATH: HOST_PATH, LC_ALL: 'C' },
    });
  } finally {
    // The sandbox holds the write ends now; EOF comes when its last process is gone.
    for (const fd of pipes.writeEnds) closeSync(fd);
  }
}

function readerOf(fd: number): net.Socket {
  const socket = new net.Socket({ fd, readable: true, writable: false });
  socket.on('error', () => undefined); // a read error ends the stream like EOF; the exit status still counts
  return socket;
}

/** The error for a run that produced no usable exit status, if it did not. */
function failureOf(x: Execution, stopped: StopReason | undefined, status: string, exit: Exit): SandboxError | undefined {
  if (stopped === 'abort') {
    return new SandboxError('ABORTED', 'the sandboxed command was aborted and all its processes were killed', { cause: x.input.signal?.reason });
  }
  if (stopped === 'timeout') {
    return new SandboxError('TIMEOUT', `the sandboxed command did not finish within ${x.input.timeoutMs} ms; all its processes were killed`);
  }
  if (status.includes(`${READY_TOKEN}\n`)) return undefined;
  const why = status.trim() || `unshare ended with ${exit.signal ?? `exit code ${exit.code}`}`;
  return new SandboxError('SETUP', `sandbox setup failed: ${why}${setupHint(why, x.privileged)}`);
}

function waitForExit(child: ChildProcess, tools: HostTools): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.once('error', (err) =>
      reject(new SandboxError('UNAVAILABLE', `cannot start ${tools.unshare}: ${err.message}`, { cause: err })),
    );
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/** Spawns the namespaces, streams output, enforces abort/timeout, and waits for every process. */
async function execute(x: Execution): Promise<Exit> {
  const pipes = await openOutputPipes(x.tools);
  const child = spawnSandbox(x, pipes);
  const readers = [readerOf(pipes.readEnds[0]), readerOf(pipes.readEnds[1])];
  const drained = Promise.all(readers.map(ended));

  let exited = false;
  let stopped: StopReason | undefined;
  let handlerError: unknown;
  const stop = (why: StopReason): void => {
    stopped ??= why;
    // Once Node has reaped unshare its PID may belong to someone else.
    if (!exited && child.pid !== undefined) killSandboxTree(child.pid);
  };
  if (child.pid !== undefined) trackSandbox(child.pid);
  child.once('exit', () => {
    exited = true;
    if (child.pid !== undefined) untrackSandbox(child.pid);
  });

  (['stdout', 'stderr'] as const).forEach((stream, i) =>
    readers[i].on('data', (chunk: Buffer) => {
      try {
        x.input.onOutput?.(chunk, stream);
      } catch (err) {
        handlerError ??= err;
        stop('handler');
      }
    }),
  );
  let status = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => (status += text));

  const onAbort = (): void => stop('abort');
  x.input.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = x.input.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), x.input.timeoutMs) : undefined;
  if (x.input.signal?.aborted) stop('abort');

  try {
    const exit = await waitForExit(child, x.tools);
    await drained;
    if (handlerError !== undefined) throw handlerError;
    const failure = failureOf(x, stopped, status, exit);
    if (failure) throw failure;
    return exit;
  } finally {
    clearTimeout(timer);
    x.input.signal?.removeEventListener('abort', onAbort);
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
 * Runs one Dockerfile RUN command inside `root` in its own PID, mount, UTS, IPC (and, for
 * network 'none', network) namespaces, the way Docker's legacy builder runs it in a container.
 * Resolves with the exit status (non-zero is a result); rejects with SandboxError when the command
 * could not run, was aborted, or timed out. Anything created in the rootfs for the sandbox is
 * removed before the promise settles.
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
  await ensureWorkdir(root, request.workdir);

  const stateDir = await mkdtemp(path.join(workspace(), 'run-'));
  const ledger = new RootfsLedger(root, tools.touch);
  let outcome: { exit?: Exit; error?: unknown } = {};
  try {
    const plan = await preparePlan({ root, stateDir, ledger, network: request.network, hostname: request.hostname, privileged });
    const command = commandLine(tools, root, request, user, privileged);
    outcome = { exit: await execute({ tools, plan, request, command, privileged, input }) };
  } catch (err) {
    outcome = { error: err };
  }
  try {
    await ledger.restore();
  } catch (err) {
    outcome.error ??= err;
  }
  await rm(stateDir, { recursive: true, force: true });
  if (outcome.error !== undefined || !outcome.exit) throw outcome.error;
  return outcome.exit;
}
