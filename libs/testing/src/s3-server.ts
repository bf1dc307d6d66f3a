import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface S3ServerHandle {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** A bucket that already exists on the server, unique to this server. */
  bucket: string;
  /** Kill the server and delete its data directory. */
  stop(): Promise<void>;
}

// s3rver's built-in account.
const CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' } as const;
const START_TIMEOUT_MS = 20_000;

/**
 * Start a throwaway s3rver 3.7.1 on 127.0.0.1 (random free port, temp data directory).
 * It runs as a child process because it needs `--openssl-legacy-provider`, which cannot be
 * enabled inside an already running Node process.
 */
export async function startS3Server(): Promise<S3ServerHandle> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'cargohold-s3rver-'));
  const bucket = `cargohold-test-${randomUUID().slice(0, 8)}`;
  const script = path.join(__dirname, 's3-server.process.mjs');
  const nodeOptions = [process.env.NODE_OPTIONS, '--openssl-legacy-provider'].filter(Boolean).join(' ');
  const child = spawn(process.execPath, [script, directory, bucket], {
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
    stdio: ['pipe', 'pipe', 'pipe'],
  });

  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end(); // the child exits when its stdin closes
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(directory, { recursive: true, force: true });
  };

  try {
    const port = await readPort(child.stdout, exited, () => stderr);
    const endpoint = `http://127.0.0.1:${port}`;
    await waitUntilAnswering(endpoint);
    return { endpoint, bucket, ...CREDENTIALS, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function readPort(stdout: NodeJS.ReadableStream, exited: Promise<number | null>, stderr: () => string): Promise<number> {
  const lines = createInterface({ input: stdout });
  const firstLine = new Promise<string>((resolve) => lines.once('line', resolve));
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms: ${stderr()}`)), START_TIMEOUT_MS).unref(),
  );
  const died = exited.then((code): never => {
    throw new Error(`s3rver exited with code ${code} before listening: ${stderr()}`);
  });
  try {
    const line = await Promise.race([firstLine, died, timeout]);
    const { port } = JSON.parse(line) as { port: number };
    return port;
  } finally {
    lines.close();
    stdout.resume(); // keep draining so the child can never block on a full pipe
  }
}

/** Poll until the server answers any HTTP request (an anonymous GET / is a 403, which is fine). */
async function waitUntilAnswering(endpoint: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        const request = http.get(endpoint, (response) => {
          response.resume();
          resolve();
        });
        request.on('error', reject);
        request.setTimeout(1000, () => request.destroy(new Error('timeout')));
      });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`s3rver at ${endpoint} never answered: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
