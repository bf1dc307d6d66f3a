import type { RegistryErrorOptions } from './registry-errors';
import { RegistryAuthError, RegistryError, RegistryNotFoundError } from './registry-errors';
import { findChallenge, parseWwwAuthenticate } from './www-authenticate.util';

/** Default messages of the distribution error codes, used when an error body gives none. */
const DEFAULT_MESSAGES: Readonly<Record<string, string>> = {
  UNKNOWN: 'unknown error',
  UNSUPPORTED: 'The operation is unsupported.',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNAVAILABLE: 'service unavailable',
  TOOMANYREQUESTS: 'too many requests',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  SIZE_INVALID: 'provided length did not match content length',
  NAME_INVALID: 'invalid repository name',
  TAG_INVALID: 'manifest tag did not match URI',
  NAME_UNKNOWN: 'repository name not known to registry',
  MANIFEST_UNKNOWN: 'manifest unknown',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNVERIFIED: 'manifest failed signature verification',
  MANIFEST_BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  RANGE_INVALID: 'invalid content range',
  PAGINATION_NUMBER_INVALID: 'invalid number of results requested',
};

export interface ErrorCodeEntry {
  /** As sent, upper case: `MANIFEST_UNKNOWN`. */
  code: string;
  message: string;
}

/** `MANIFEST_UNKNOWN` + `manifest unknown` → `manifest unknown: manifest unknown` (errcode.Error.Error()). */
export function formatErrorCode({ code, message }: ErrorCodeEntry): string {
  return `${code.toLowerCase().replace(/_/g, ' ')}: ${message}`;
}

/** errcode.Errors.Error(): one error as is, several as `errors:` and one per line. */
function formatErrorList(entries: ErrorCodeEntry[]): string {
  if (entries.length === 1) return formatErrorCode(entries[0]);
  return `errors:\n${entries.map(formatErrorCode).join('\n')}`;
}

/** The code a bare status stands for when the body says nothing usable (distribution's makeError). */
function statusCode(status: number): string {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'DENIED';
    case 429:
      return 'TOOMANYREQUESTS';
    default:
      return 'UNKNOWN';
  }
}

function entry(code: string, message: string | undefined): ErrorCodeEntry {
  return { code, message: message || DEFAULT_MESSAGES[code] || code.toLowerCase().replace(/_/g, ' ') };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The OCI `{errors:[{code,message}]}` entries of a body, `{details}` (token servers), or a parse failure. */
function parseErrorBody(status: number, contentType: string | null, body: string): ErrorCodeEntry[] | string {
  const mime = contentType?.split(';')[0].trim().toLowerCase();
  if (body.trim() === '') return [entry(statusCode(status), undefined)];
  if (!mime || (mime !== 'application/json' && mime !== 'application/vnd.api+json')) {
    return [entry(statusCode(status), body.trim() || undefined)];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return `error parsing HTTP ${status} response body: ${(err as Error).message}: ${JSON.stringify(body)}`;
  }
  if (isRecord(parsed) && typeof parsed.details === 'string' && parsed.details) return [entry(statusCode(status), parsed.details)];
  const list = isRecord(parsed) && Array.isArray(parsed.errors) ? parsed.errors : Array.isArray(parsed) ? parsed : null;
  const entries = (list ?? [])
    .filter(isRecord)
    .map((e) => entry(typeof e.code === 'string' && e.code ? e.code.toUpperCase() : 'UNKNOWN', typeof e.message === 'string' ? e.message : undefined));
  if (entries.length === 0) {
    return `error parsing HTTP ${status} response body: no error details found in HTTP response body: ${JSON.stringify(body)}`;
  }
  return entries;
}

export interface ErrorResponseInput {
  status: number;
  statusText?: string;
  headers: Pick<Headers, 'get'>;
  /** The body text (already read, possibly truncated); empty for HEAD. */
  body: string;
}

/**
 * The error dockerd's registry client (distribution's HandleErrorResponse) derives from a failed
 * answer: bearer `error=` challenges first, then the OCI error body, then the bare status.
 * 401/403 give RegistryAuthError, 404 RegistryNotFoundError.
 */
export function errorFromResponse({ status, statusText, headers, body }: ErrorResponseInput): RegistryError {
  if (status < 400 || status >= 500) {
    return new RegistryError(`received unexpected HTTP status: ${status} ${statusText ?? ''}`.trimEnd(), { status });
  }
  const entries: ErrorCodeEntry[] = [];
  const bearer = findChallenge(parseWwwAuthenticate(headers.get('www-authenticate')), 'bearer');
  const oauthError = bearer?.params.error;
  if (oauthError === 'invalid_token' || oauthError === 'insufficient_scope') {
    entries.push(entry(oauthError === 'invalid_token' ? 'UNAUTHORIZED' : 'DENIED', bearer?.params.error_description));
  }
  const parsed = parseErrorBody(status, headers.get('content-type'), body);
  let message: string;
  if (typeof parsed === 'string') {
    // An unreadable body on a 401 still means "authentication required".
    if (entries.length === 0 && status === 401) entries.push(entry('UNAUTHORIZED', undefined));
    message = entries.length > 0 ? formatErrorList(entries) : parsed;
  } else {
    entries.push(...parsed);
    message = formatErrorList(entries);
  }
  const options: RegistryErrorOptions = { status, code: entries[0]?.code };
  if (status === 401 || status === 403) return new RegistryAuthError(message, options);
  if (status === 404) return new RegistryNotFoundError(message, options);
  return new RegistryError(message, options);
}
