import { closeSync, constants as fsConstants, existsSync, openSync } from 'node:fs';
import net from 'node:net';
import { discardFifos, releaseFifos, takeFifos } from './workspace';

export interface OutputPipes {
  fifos: [string, string];
  readEnds: [number, number];
  writeEnds: [number, number];
}

/**
 * Real pipes for stdout and stderr. Node's stdio 'pipe' is a socketpair, and opening
 * /dev/stdout on a socket fails (ENXIO), which breaks `echo x > /dev/stderr` in RUN lines.
 * The read ends are non-blocking; with them open, opening the write ends does not block.
 */
export async function openOutputPipes(dir: string, mkfifo: string): Promise<OutputPipes> {
  const fifos = await takeFifos(dir, mkfifo);
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
export async function returnFifos(fifos: [string, string], drained: Promise<unknown>): Promise<void> {
  const closed = await Promise.race([drained.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
  if (closed) releaseFifos(fifos);
  else await discardFifos(fifos);
}

export function readerOf(fd: number): net.Socket {
  const socket = new net.Socket({ fd, readable: true, writable: false });
  socket.on('error', () => undefined); // a read error ends the stream like EOF; the exit status still counts
  return socket;
}

export function ended(stream: net.Socket): Promise<void> {
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

const POLL_MS = 5;

/**
 * The command's stderr is runc's stderr too, and runc prints its own fatal error there. Until
 * runc has started the command (its pid file exists) stderr is held back; the command's early
 * output is passed on as soon as that is known, while runc's error, when it never started the
 * command, is dropped (the error comes from runc's log). stdout needs no gate: runc never writes it.
 */
export class StderrGate {
  private readonly held: Buffer[] = [];
  private open = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly startedMarker: string,
    private readonly deliver: (chunk: Buffer) => void,
  ) {}

  /** `deliver` must not throw: it is also called from a timer. */
  push(chunk: Buffer): void {
    this.held.push(chunk);
    if (this.opened()) {
      this.release();
      return;
    }
    this.timer ??= setInterval(() => {
      if (this.opened()) this.release();
    }, POLL_MS);
  }

  /**
   * After the run: if runc started the command, passes on what is held and returns undefined;
   * otherwise returns what is held (runc's own text) without passing it on.
   */
  finish(): string | undefined {
    if (this.opened()) {
      this.release();
      return undefined;
    }
    this.stopPolling();
    return Buffer.concat(this.held.splice(0)).toString();
  }

  private opened(): boolean {
    this.open ||= existsSync(this.startedMarker);
    return this.open;
  }

  private release(): void {
    this.stopPolling();
    for (const chunk of this.held.splice(0)) this.deliver(chunk);
  }

  private stopPolling(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
