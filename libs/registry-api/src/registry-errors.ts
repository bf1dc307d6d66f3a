/**
 * The distribution-spec error codes this registry answers with, and their HTTP statuses.
 * Bodies are `{"errors":[{"code","message","detail"}]}` (see RegistryErrorFilter).
 */
export const REGISTRY_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
} as const;

export type RegistryErrorCode = keyof typeof REGISTRY_ERROR_STATUS;

export class RegistryApiError extends Error {
  readonly status: number;
  /** Extra response headers (the `WWW-Authenticate` challenge of a 401). */
  headers: Record<string, string> = {};

  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly detail?: unknown,
    status?: number,
  ) {
    super(message);
    this.name = 'RegistryApiError';
    this.status = status ?? REGISTRY_ERROR_STATUS[code];
  }
}

export const blobUnknown = (digest: string): RegistryApiError => new RegistryApiError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
export const manifestUnknown = (reference: string): RegistryApiError =>
  new RegistryApiError('MANIFEST_UNKNOWN', 'manifest unknown', { reference });
export const uploadUnknown = (uuid: string): RegistryApiError => new RegistryApiError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid });
export const digestInvalid = (message: string, detail?: unknown): RegistryApiError => new RegistryApiError('DIGEST_INVALID', message, detail);
export const nameUnknown = (name: string): RegistryApiError => new RegistryApiError('NAME_UNKNOWN', 'repository name not known to registry', { name });
