import type { RegistryCredentialsPayload } from '@cargohold/queue-contracts';

/**
 * `X-Registry-Auth`: base64url JSON of `{username, password, serveraddress, identitytoken,
 * registrytoken}`. Like dockerd, an undecodable header counts as no credentials.
 */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryCredentialsPayload | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  try {
    const json = JSON.parse(Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as Record<string, unknown>;
    const pick = (k: string) => (typeof json[k] === 'string' && json[k] ? (json[k] as string) : undefined);
    const creds = { username: pick('username'), password: pick('password'), identitytoken: pick('identitytoken'), registrytoken: pick('registrytoken') };
    return Object.values(creds).some(Boolean) ? creds : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `serveraddress` of `docker login` → registry domain: `https://index.docker.io/v1/` and empty
 * mean Docker Hub (`docker.io`); a scheme and path are dropped.
 */
export function registryDomain(serveraddress: string | undefined): string {
  const raw = (serveraddress ?? '').trim();
  if (!raw) return 'docker.io';
  const host = raw.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === 'docker.io') return 'docker.io';
  return host;
}
