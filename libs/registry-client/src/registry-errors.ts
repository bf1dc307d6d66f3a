export interface RegistryErrorOptions {
  /** HTTP status of the registry's answer, when there was one. */
  status?: number;
  /** The first OCI error code of the answer (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, …). */
  code?: string;
  cause?: unknown;
}

/**
 * A registry refused or failed a request. The message is what dockerd would show for the same
 * answer (OCI error bodies become `code: message`, e.g. `manifest unknown: manifest unknown`).
 */
export class RegistryError extends Error {
  status?: number;
  code?: string;

  constructor(message: string, options: RegistryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    if (options.status !== undefined) this.status = options.status;
    if (options.code !== undefined) this.code = options.code;
  }
}

/** 401 / 403: missing, wrong or insufficient credentials. */
export class RegistryAuthError extends RegistryError {
  constructor(message: string, options: RegistryErrorOptions = {}) {
    super(message, options);
    this.name = 'RegistryAuthError';
  }
}

/** 404: the repository, manifest or blob does not exist. */
export class RegistryNotFoundError extends RegistryError {
  constructor(message: string, options: RegistryErrorOptions = {}) {
    super(message, options);
    this.name = 'RegistryNotFoundError';
  }
}

/**
 * The registry could not be reached at all (connection refused or reset, DNS, TLS). Transient
 * by nature: requests are retried, and a session falls back to its next endpoint.
 */
export class RegistryUnreachableError extends RegistryError {
  constructor(message: string, options: RegistryErrorOptions = {}) {
    super(message, options);
    this.name = 'RegistryUnreachableError';
  }
}
