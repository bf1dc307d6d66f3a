import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { WrittenArchive } from './fixture.types';
import { busyboxImage, writeDockerArchive } from './fixtures';
import { scratchDir } from './scratch-dir.util';

export interface DockerRunOptions {
  /** Written to the CLI's stdin (e.g. a tar for `docker load`). */
  input?: Buffer | string;
  /** A file streamed to stdin, for inputs too large to hold in memory. */
  inputFile?: string;
  /** Stream stdout to this file instead of capturing it (e.g. `docker save` without -o). */
  stdoutFile?: string;
  /** Extra environment for this call; wins over the isolation defaults. */
  env?: Record<string, string>;
  /** Resolve with the non-zero code instead of rejecting. */
  allowFailure?: boolean;
  /** Kill the CLI after this long; default 300 s. */
  timeoutMs?: number;
}

export interface DockerRunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerCli {
  /** The DOCKER_HOST every call uses. */
  readonly host: string;
  /** This client's private DOCKER_CONFIG directory (empty config.json). */
  readonly configDir: string;
  run(args: string[], options?: DockerRunOptions): Promise<DockerRunResult>;
  /** Removes configDir (also done when the process ends). */
  dispose(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const MESSAGE_TAIL = 8_000;

/**
 * The real `docker` binary pointed at `dockerHost`, with a throwaway DOCKER_CONFIG (so nothing
 * from ~/.docker — contexts, credentials, plugins' settings — leaks in), the legacy builder
 * (DOCKER_BUILDKIT=0) and no CLI hints.
 */
export function dockerCli(dockerHost: string, binary = 'docker'): DockerCli {
  const configDir = scratchDir('docker-config');
  writeFileSync(path.join(configDir, 'config.json'), '{}\n');

  const baseEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (!key.startsWith('DOCKER_') && !key.startsWith('BUILDKIT_')) env[key] = value;
    }
    return { ...env, DOCKER_HOST: dockerHost, DOCKER_CONFIG: configDir, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' };
  };

  const run = (args: string[], options: DockerRunOptions = {}): Promise<DockerRunResult> =>
    new Promise<DockerRunResult>((resolve, reject) => {
      const command = `docker ${args.join(' ')}`;
      const child = spawn(binary, args, { env: { ...baseEnv(), ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const pending: Array<Promise<unknown>> = [];
      let failure: Error | undefined;

      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      if (options.stdoutFile) pending.push(pipeline(child.stdout, createWriteStream(options.stdoutFile)));
      else child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));

      child.stdin.on('error', () => undefined); // EPIPE when the CLI exits before reading all input
      if (options.inputFile) pending.push(pipeline(createReadStream(options.inputFile), child.stdin).catch(() => undefined));
      else child.stdin.end(options.input ?? '');

      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const timer = setTimeout(() => {
        failure = new Error(`${command} timed out after ${timeoutMs} ms`);
        child.kill('SIGKILL');
      }, timeoutMs);

      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`could not run ${binary}: ${error.message} (is the docker CLI installed and on PATH?)`));
      });
      child.once('close', (exitCode, signal) => {
        clearTimeout(timer);
        void Promise.all(pending).then(
          () => {
            const result = { code: exitCode ?? 128, stdout, stderr };
            if (failure) reject(withOutput(failure, result));
            else if (result.code !== 0 && !options.allowFailure) {
              reject(withOutput(new Error(`${command} failed with exit code ${exitCode ?? `signal ${signal}`} (DOCKER_HOST=${dockerHost})`), result));
            } else resolve(result);
          },
          (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
        );
      });
    });

  return {
    host: dockerHost,
    configDir,
    run,
    async dispose() {
      await rm(configDir, { recursive: true, force: true });
    },
  };
}

function withOutput(error: Error, result: DockerRunResult): Error {
  const tail = (text: string): string => (text.length > MESSAGE_TAIL ? `…${text.slice(-MESSAGE_TAIL)}` : text);
  error.message += `\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`;
  return error;
}

/**
 * Writes the busybox fixture (`busybox:latest`, OCI layout) to `<dir>/busybox.tar` and `docker
 * load`s it through `docker`: the base image most end-to-end specs start from. Returns what was
 * written (image ID and diff IDs).
 */
export async function loadBusybox(docker: DockerCli, dir: string): Promise<WrittenArchive> {
  const archive = path.join(dir, 'busybox.tar');
  const written = await writeDockerArchive(archive, [busyboxImage('busybox:latest')], { format: 'oci' });
  await docker.run(['load', '-i', archive]);
  return written;
}
