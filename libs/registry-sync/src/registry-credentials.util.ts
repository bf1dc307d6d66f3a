import type { RegistryCredentialsPayload } from '@cargohold/queue-contracts';
import type { RegistryCredentials } from '@cargohold/registry-client';

/** `X-Registry-Auth` as the job carries it → the client's credentials; empty fields mean none (anonymous). */
export function registryCredentials(auth: RegistryCredentialsPayload | undefined): RegistryCredentials | undefined {
  if (!auth) return undefined;
  const credentials: RegistryCredentials = {};
  for (const key of ['username', 'password', 'identitytoken', 'registrytoken'] as const) {
    const value = auth[key];
    if (value) credentials[key] = value;
  }
  return Object.keys(credentials).length ? credentials : undefined;
}
