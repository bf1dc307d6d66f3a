/**
 * Validation the legacy builder applies when EXPOSE and STOPSIGNAL reach the image config
 * (docker/go-connections nat.ParsePortSpec, moby/sys signal.ParseSignal), with their messages.
 */

/**
 * The ExposedPorts keys one (already expanded) EXPOSE word adds: `80` → `80/tcp`,
 * `53/UDP` → `53/udp`, `8000-8002` → three ports. An `ip:host:container` form exposes the container
 * port, as nat.ParsePortSpec allows. Throws Docker's error (`invalid containerPort: abc`,
 * `invalid proto: icmp`, ...).
 */
export function exposedPorts(spec: string): string[] {
  const { ip, hostPort, containerPort: rawContainer } = splitParts(spec);
  const slash = rawContainer.indexOf('/');
  const containerPort = slash < 0 ? rawContainer : rawContainer.slice(0, slash);
  if (containerPort === '') throw new Error(`no port specified: ${spec}<empty>`);
  const protoText = slash < 0 || rawContainer.slice(slash + 1) === '' ? 'tcp' : rawContainer.slice(slash + 1);
  const proto = protoText.toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw new Error(`invalid proto: ${proto}`);
  checkIp(ip);
  const container = portRange(containerPort);
  if (!container) throw new Error(`invalid containerPort: ${containerPort}`);
  if (hostPort !== '') {
    const host = portRange(hostPort);
    if (!host) throw new Error(`invalid hostPort: ${hostPort}`);
    // A host range is allowed against a single container port (a dynamic range); otherwise sizes must agree.
    if (container.end - container.start !== host.end - host.start && container.end !== container.start) {
      throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const ports: string[] = [];
  for (let port = container.start; port <= container.end; port++) ports.push(`${port}/${proto}`);
  return ports;
}

function splitParts(raw: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', hostPort: '', containerPort: parts[0] };
  if (n === 2) return { ip: '', hostPort: parts[0], containerPort: parts[1] };
  return { ip: parts.slice(0, n - 2).join(':'), hostPort: parts[n - 2], containerPort: parts[n - 1] };
}

function checkIp(raw: string): void {
  if (raw === '') return;
  let ip = raw;
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) throw new Error(`invalid IP address ${raw}: address ${raw}:: missing ']' in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && !isIPv4(ip) && !isIPv6(ip)) throw new Error(`invalid IP address: ${ip}`);
}

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => IPV4_PART.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (half: string): string[] | undefined => {
    if (half === '') return [];
    const g = half.split(':');
    return g.every((x) => x !== '') ? g : undefined;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return false;
  const all = [...head, ...tail];
  // A trailing dotted quad counts as two groups.
  const last = all[all.length - 1];
  const hasV4 = last !== undefined && last.includes('.');
  if (hasV4 && !isIPv4(last)) return false;
  const hex = hasV4 ? all.slice(0, -1) : all;
  if (!hex.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  const count = hex.length + (hasV4 ? 2 : 0);
  return halves.length === 2 ? count < 8 : count === 8;
}

/** nat's parsePortRange: `N` or `N-M`, each 0..65535, M ≥ N; undefined when invalid. */
function portRange(text: string): { start: number; end: number } | undefined {
  const dash = text.indexOf('-');
  const startText = dash < 0 ? text : text.slice(0, dash);
  const endText = dash < 0 ? startText : text.slice(dash + 1);
  const start = portNumber(startText);
  if (start === undefined) return undefined;
  if (dash < 0 || startText === endText) return { start, end: start };
  const end = portNumber(endText);
  if (end === undefined || end < start) return undefined;
  return { start, end };
}

function portNumber(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 0 && n <= 65535 ? n : undefined;
}

const SIGNAL_NAMES = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR',
  'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH',
  'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/**
 * Whether STOPSIGNAL's (expanded) value names a Linux signal as dockerd accepts it: a non-zero
 * number, or a name with or without `SIG`, any case (`SIGTERM`, `term`, `RTMIN+3`). dockerd's
 * message for a bad one is `invalid signal: <value>`.
 */
export function isValidStopSignal(signal: string): boolean {
  if (/^[+-]?[0-9]+$/.test(signal)) {
    const n = BigInt(signal);
    return n !== 0n && n <= 9223372036854775807n && n >= -9223372036854775808n;
  }
  const upper = signal.toUpperCase();
  return SIGNAL_NAMES.has(upper.startsWith('SIG') ? upper.slice(3) : upper);
}
