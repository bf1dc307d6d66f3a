import { isIP } from 'node:net';
import { ImportChangeError } from './import.errors';
import { goQuote } from './shell-words.util';

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

function fail(message: string): never {
  throw new ImportChangeError(message);
}

function parsePortNumber(raw: string): number | null {
  if (!/^[0-9]+$/.test(raw)) return null;
  const value = Number(raw);
  return value <= 65535 ? value : null;
}

/** `8000-8002[/proto]` or `80[/proto]` → inclusive bounds; null when malformed. */
function parsePortRange(raw: string): { start: number; end: number } | null {
  if (raw === '') return null;
  const range = raw.split('/')[0];
  const dash = range.indexOf('-');
  const startText = dash < 0 ? range : range.slice(0, dash);
  const endText = dash < 0 ? startText : range.slice(dash + 1);
  const start = parsePortNumber(startText);
  if (start === null) return null;
  if (dash < 0 || startText === endText) return { start, end: start };
  const end = parsePortNumber(endText);
  if (end === null || end < start) return null;
  return { start, end };
}

/** `[ip:][hostPort:]containerPort[/proto]` split as go-connections' `splitParts` does. */
function splitParts(raw: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', hostPort: '', containerPort: parts[0] };
  if (n === 2) return { ip: '', hostPort: parts[0], containerPort: parts[1] };
  return { ip: parts.slice(0, n - 2).join(':'), hostPort: parts[n - 2], containerPort: parts[n - 1] };
}

/**
 * The ports one EXPOSE word declares (`80` → `80/tcp`, `53/udp`, `8000-8002` → three ports,
 * `127.0.0.1:8080:80` → `80/tcp`), refused with dockerd's texts when malformed.
 */
export function exposedPorts(raw: string): string[] {
  const { ip: rawIp, hostPort, containerPort: withProto } = splitParts(raw);
  const slash = withProto.indexOf('/');
  const containerPort = slash < 0 ? withProto : withProto.slice(0, slash);
  if (containerPort === '') fail(`no port specified: ${raw}<empty>`);
  const proto = (slash < 0 || slash === withProto.length - 1 ? 'tcp' : withProto.slice(slash + 1)).toLowerCase();
  if (!PROTOCOLS.has(proto)) fail(`invalid proto: ${proto}`);

  let ip = rawIp;
  if (ip.startsWith('[')) {
    const close = ip.indexOf(']');
    if (close !== ip.length - 1) fail(`invalid IP address ${ip}: address ${ip}: missing port in address`);
    ip = ip.slice(1, close);
  }
  if (ip !== '' && isIP(ip) === 0) fail(`invalid IP address: ParseAddr(${goQuote(ip)}): unable to parse IP`);

  const range = parsePortRange(containerPort);
  if (!range) fail(`invalid containerPort: ${containerPort}`);
  if (hostPort !== '') {
    const host = parsePortRange(hostPort);
    if (!host) fail(`invalid hostPort: ${hostPort}`);
    // A host range may serve a single container port (dynamic allocation), not a different-sized range.
    if (range.end - range.start !== host.end - host.start && range.end !== range.start) {
      fail(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const ports: string[] = [];
  for (let port = range.start; port <= range.end; port += 1) ports.push(`${port}/${proto}`);
  return ports;
}
