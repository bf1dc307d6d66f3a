import type { TestRegistry } from './registry-harness.types';

/** A registry as the push helpers accept it: a started TestRegistry, or a URL / host of an anonymous one. */
export type RegistryTarget = TestRegistry | string;

export interface RegistryLogin {
  username: string;
  password: string;
}

export interface ResolvedTarget {
  url: string;
  host: string;
  registry: TestRegistry | null;
  /** The account to use: explicit, else the registry's first user when it has auth, else none. */
  login: RegistryLogin | null;
}

export function resolveTarget(target: RegistryTarget, login?: RegistryLogin | null): ResolvedTarget {
  if (typeof target !== 'string') {
    const first = Object.entries(target.users)[0];
    const fallback = target.auth !== 'none' && first ? { username: first[0], password: first[1] } : null;
    return { url: target.url, host: target.host, registry: target, login: login === undefined ? fallback : login };
  }
  const url = /^https?:\/\//.test(target) ? target.replace(/\/+$/, '') : `http://${target}`;
  return { url, host: new URL(url).host, registry: null, login: login ?? null };
}

/**
 * The Authorization a harness request needs, obtained without any registry client: Basic for
 * htpasswd, a token minted by the registry's own token server for token auth.
 */
export function authorizationFor(target: ResolvedTarget, repo: string, actions: string): string | undefined {
  const { registry, login } = target;
  if (registry?.auth === 'token' && registry.tokenServer) {
    return `Bearer ${registry.tokenServer.issueToken(login?.username ?? null, [`repository:${repo}:${actions}`])}`;
  }
  if (login) return `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
  return undefined;
}

/** fetch against the registry with the harness's credentials; throws with the body on an unexpected status. */
export async function registryRequest(
  target: ResolvedTarget,
  repo: string,
  actions: string,
  pathAndQuery: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer; expect: number[] },
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  const authorization = authorizationFor(target, repo, actions);
  if (authorization) headers.authorization = authorization;
  const response = await fetch(`${target.url}${pathAndQuery}`, { method: init.method ?? 'GET', headers, body: init.body });
  if (!init.expect.includes(response.status)) {
    throw new Error(`${init.method ?? 'GET'} ${target.url}${pathAndQuery} answered ${response.status}: ${await response.text()}`);
  }
  return response;
}
