import { DEFAULT_RETRIES } from './backoff.util';
import type { RegistryClientOptions, RegistryCredentials, RegistrySession } from './registry-client.types';
import { resolveEndpoints } from './registry-endpoints.util';
import { DistributionSession } from './registry-session';

const DEFAULT_USER_AGENT = 'cargohold-registry-client';

/**
 * An OCI Distribution client configured like dockerd (insecure registries, Docker Hub mirrors).
 * Stateless itself: auth state lives in the sessions it hands out.
 */
export class RegistryClient {
  private readonly options: RegistryClientOptions;
  private readonly retries: number;

  constructor(options: RegistryClientOptions = {}) {
    const retries = options.retries ?? DEFAULT_RETRIES;
    if (!Number.isSafeInteger(retries) || retries < 0) throw new RangeError(`retries must be a non-negative integer, got ${retries}`);
    this.options = { ...options };
    this.retries = retries;
  }

  /**
   * A session for one registry domain (a parsed reference's `domain`: `docker.io`,
   * `127.0.0.1:5000`), with credentials; it caches tokens per scope. Throws for docker.io when
   * no hub endpoint or mirror is configured.
   */
  session(domain: string, credentials?: RegistryCredentials): RegistrySession {
    const endpoints = resolveEndpoints(domain, this.options);
    return new DistributionSession(domain, endpoints, credentials, { retries: this.retries, userAgent: this.options.userAgent ?? DEFAULT_USER_AGENT });
  }
}
