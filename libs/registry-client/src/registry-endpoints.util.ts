import { BlockList, isIP } from 'node:net';
import { RegistryError } from './registry-errors';

/** One base URL a session may talk to for its domain. */
export interface RegistryEndpoint {
  /** `https://registry.example.com`, `http://127.0.0.1:5000` (no trailing slash). */
  baseUrl: string;
  /** A Docker Hub mirror: read-only, and any error there falls through to the next endpoint (as in dockerd). */
  mirror: boolean;
}

export interface EndpointOptions {
  insecureRegistries?: string[];
  mirrors?: string[];
  dockerHubEndpoint?: string;
}

const DOCKER_HUB_DOMAINS = new Set(['docker.io', 'index.docker.io']);

/** `host`, `host:port`, `[v6]:port` → the host part without brackets, lower-cased. */
export function hostOf(hostPort: string): string {
  const trimmed = hostPort.trim().toLowerCase();
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']');
    return end > 0 ? trimmed.slice(1, end) : trimmed;
  }
  const colons = trimmed.split(':').length - 1;
  return colons === 1 ? trimmed.slice(0, trimmed.indexOf(':')) : trimmed;
}

/** 127.0.0.0/8, ::1 and `localhost`: dockerd always treats these as insecure (plain HTTP). */
export function isLoopbackHost(host: string): boolean {
  const h = hostOf(host);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

const CIDR_RE = /^(.+)\/(\d{1,3})$/;

/**
 * True when `domain` is listed in `insecure` (dockerd's `insecure-registries`): an exact
 * `host[:port]` entry, or a CIDR containing the host's IP. Host names are not resolved: a CIDR
 * entry only covers registries named by IP address.
 */
export function isInsecureRegistry(domain: string, insecure: readonly string[]): boolean {
  const wanted = domain.trim().toLowerCase();
  const host = hostOf(wanted);
  const ipVersion = isIP(host);
  for (const raw of insecure) {
    const item = raw.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    const cidr = CIDR_RE.exec(item);
    if (cidr && isIP(cidr[1]) !== 0) {
      if (ipVersion === 0) continue;
      const list = new BlockList();
      const family = isIP(cidr[1]) === 4 ? 'ipv4' : 'ipv6';
      try {
        list.addSubnet(cidr[1], Number(cidr[2]), family);
      } catch {
        continue; // prefix out of range: not a usable entry
      }
      if (list.check(host, ipVersion === 4 ? 'ipv4' : 'ipv6')) return true;
    } else if (item === wanted) {
      return true;
    }
  }
  return false;
}

/** `mirror.local:5000` → `http(s)://mirror.local:5000` by the same rules as a registry domain. */
function baseUrlFor(hostOrUrl: string, insecure: readonly string[]): string[] {
  const trimmed = hostOrUrl.trim().replace(/\/+$/, '');
  if (/^https?:\/\//i.test(trimmed)) {
    try {
      const url = new URL(trimmed);
      return [`${url.origin}${url.pathname.replace(/\/+$/, '')}`];
    } catch {
      throw new RegistryError(`invalid registry URL ${JSON.stringify(hostOrUrl)}`);
    }
  }
  if (isLoopbackHost(trimmed)) return [`http://${trimmed}`];
  // dockerd tries TLS first for an insecure registry and falls back to plain HTTP.
  if (isInsecureRegistry(trimmed, insecure)) return [`https://${trimmed}`, `http://${trimmed}`];
  return [`https://${trimmed}`];
}

/**
 * The base URLs to try, in order, for a registry domain (a parsed reference's `domain`).
 * docker.io has no built-in address: its mirrors, then `dockerHubEndpoint`.
 */
export function resolveEndpoints(domain: string, options: EndpointOptions): RegistryEndpoint[] {
  const insecure = options.insecureRegistries ?? [];
  if (!domain || /[/\s]/.test(domain)) throw new RegistryError(`invalid registry domain ${JSON.stringify(domain)}`);
  if (DOCKER_HUB_DOMAINS.has(domain.toLowerCase())) {
    const endpoints: RegistryEndpoint[] = (options.mirrors ?? []).flatMap((m) => baseUrlFor(m, insecure).map((baseUrl) => ({ baseUrl, mirror: true })));
    if (options.dockerHubEndpoint) endpoints.push(...baseUrlFor(options.dockerHubEndpoint, insecure).map((baseUrl) => ({ baseUrl, mirror: false })));
    if (endpoints.length === 0) {
      throw new RegistryError(
        `no endpoint is configured for ${domain}: set CARGOHOLD_DOCKER_HUB_URL to the registry that serves docker.io images ` +
          '(e.g. https://registry-1.docker.io), or configure a registry mirror',
      );
    }
    return endpoints;
  }
  return baseUrlFor(domain, insecure).map((baseUrl) => ({ baseUrl, mirror: false }));
}
