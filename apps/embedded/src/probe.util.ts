import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** HTTP status of a GET, or undefined when nothing answers in time. */
export function httpStatus(url: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: timeoutMs, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(undefined));
  });
}

/** True when a Redis server at host:port answers PING with PONG (not while it is still loading). */
export function redisAnswersPing(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = net.connect({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('end', () => finish(false));
  });
}

export class WaitAbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'WaitAbortedError';
  }
}

/**
 * Polls `check` until it returns true. Rejects with `timeoutMessage` after `timeoutMs`, or with
 * WaitAbortedError as soon as `signal` aborts (e.g. the process being waited for died).
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs: number; signal?: AbortSignal; timeoutMessage: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) throw new WaitAbortedError();
    if (await check()) return;
    if (options.signal?.aborted) throw new WaitAbortedError();
    if (Date.now() >= deadline) throw new Error(options.timeoutMessage);
    try {
      await sleep(options.intervalMs, undefined, { signal: options.signal });
    } catch {
      throw new WaitAbortedError();
    }
  }
}
