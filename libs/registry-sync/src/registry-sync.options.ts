import type { AppConfig } from '@cargohold/config';

/** Settings of the pull and push jobs; every field has a default (dockerd's where it has one). */
export interface RegistrySyncOptions {
  /** Parallel layer downloads per pull (dockerd's max-concurrent-downloads: 3). */
  concurrency: number;
  /** Parallel layer uploads per push (dockerd's max-concurrent-uploads: 5). */
  uploadConcurrency: number;
  /** Used only when no RegistryClient is injected: see RegistryClientOptions. */
  insecureRegistries: string[];
  mirrors: string[];
  dockerHubEndpoint?: string;
  /** Largest expansion a gzip layer may have past 64 MiB (decompression bombs). */
  maxGzipRatio?: number;
}

/** Nest token of a `Partial<RegistrySyncOptions>`; optional. */
export const REGISTRY_SYNC_OPTIONS = Symbol('RegistrySyncOptions');

export const DEFAULT_REGISTRY_SYNC_OPTIONS: RegistrySyncOptions = {
  concurrency: 3,
  uploadConcurrency: 5,
  insecureRegistries: [],
  mirrors: [],
};

export function resolveRegistrySyncOptions(options: Partial<RegistrySyncOptions> = {}): RegistrySyncOptions {
  const resolved = { ...DEFAULT_REGISTRY_SYNC_OPTIONS, ...options };
  for (const key of ['concurrency', 'uploadConcurrency'] as const) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer, got ${value}`);
  }
  return resolved;
}

/** The options the validated environment gives (CARGOHOLD_PULL_CONCURRENCY, …). */
export function registrySyncOptionsFromConfig(config: AppConfig): Partial<RegistrySyncOptions> {
  return {
    concurrency: config.registries.pullConcurrency,
    insecureRegistries: config.registries.insecure,
    mirrors: config.registries.mirrors,
    dockerHubEndpoint: config.registries.dockerHubUrl,
    maxGzipRatio: config.maxGzipRatio,
  };
}
