import type { TokenAccessPolicy, TokenServerHandle } from './registry-token-server';

export type TestRegistryAuth = 'none' | 'htpasswd' | 'token';

export interface StartRegistryOptions {
  /** Default 'none'. */
  auth?: TestRegistryAuth;
  /** Accounts for htpasswd and token auth; default `{ alice: 'wonderland' }`. */
  users?: Record<string, string>;
  /** Token auth: what anonymous requests get on repositories (default `pull`). */
  anonymous?: 'pull' | 'none';
  /** Token auth: replaces the default grant policy. */
  tokenPolicy?: TokenAccessPolicy;
  /** Token auth: lifetime of issued tokens in seconds (default 300). */
  tokenExpiresIn?: number;
}

export interface TestRegistry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the domain part of image references. */
  host: string;
  auth: TestRegistryAuth;
  users: Record<string, string>;
  /** The token server (auth 'token' only); its `requests` lets tests count token fetches. */
  tokenServer?: TokenServerHandle;
  /** Where the registry keeps its data (removed by stop()). */
  rootDir: string;
  /** The registry's config file (removed by stop()), for offline tools: `docker-registry garbage-collect <configFile>`. */
  configFile: string;
  /** Kills the registry process but keeps rootDir and configFile, for offline tools; stop() still cleans up. */
  stopServer(): Promise<void>;
  /** Kills the registry and the token server, deletes the data. Idempotent. */
  stop(): Promise<void>;
  /** The tail of the registry's log. */
  logs(): string;
}
