import { ArchiveError, familiarName, ImageConfigError, InvalidPlatformError, InvalidReferenceError, ManifestError, UnsafeArchiveError } from '@cargohold/oci';
import { PermanentJobError } from '@cargohold/queue';
import { RegistryAuthError, RegistryError, RegistryNotFoundError } from '@cargohold/registry-client';
import { DigestMismatchError, InvalidDigestError, SizeMismatchError } from '@cargohold/storage';
import { ReservedNameError } from './pull-plan.util';

/**
 * A failure of a pull or push that no retry can fix, with dockerd's text and the HTTP status
 * dockerd answers for it when nothing was streamed yet.
 */
export class SyncError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SyncError';
  }
}

/** distribution's errcode.Errors: dockerd only looks at the first error of a list. */
function firstRegistryError(error: RegistryError): string {
  return error.message.startsWith('errors:\n') ? (error.message.split('\n')[1] ?? error.message) : error.message;
}

/** How the failed pull was asked for, for dockerd's messages. */
export interface PullErrorContext {
  /** Normalised repository name (`docker.io/library/busybox`). */
  repositoryName: string;
  /** The reference as the CLI shows it (`busybox:nope`; the bare name for -a). */
  familiarRef: string;
  /** The full normalised reference (`docker.io/library/busybox:latest`). */
  fullRef: string;
}

/**
 * dockerd's `translatePullError` (daemon/internal/distribution/errors.go): denied, unknown
 * manifest and unknown repository become its 404 texts, unauthorized a 401, schema1 its
 * deprecation text (400), the rest a 500 with the registry's message.
 */
export function translateRegistryPullError(error: RegistryError, context: PullErrorContext): SyncError {
  const first = firstRegistryError(error);
  switch (error.code ?? '') {
    case 'DENIED':
      return new SyncError(`pull access denied for ${familiarName(context.repositoryName)}, repository does not exist or may require 'docker login': ${first}`, 404, { cause: error });
    case 'MANIFEST_UNKNOWN':
      return new SyncError(`manifest for ${context.familiarRef} not found: ${first}`, 404, { cause: error });
    case 'NAME_UNKNOWN':
      return new SyncError(`repository ${familiarName(context.repositoryName)} not found: ${first}`, 404, { cause: error });
    case 'UNAUTHORIZED':
      return new SyncError(first, 401, { cause: error });
    case 'MANIFEST_INVALID':
      if (error.message.includes('schema1')) return new SyncError(schema1Message(context.fullRef), 400, { cause: error });
      return new SyncError(error.message, 500, { cause: error });
    default:
      if (error instanceof RegistryAuthError) return new SyncError(error.message, 401, { cause: error });
      if (error instanceof RegistryNotFoundError) return new SyncError(error.message, 404, { cause: error });
      return new SyncError(error.message, 500, { cause: error });
  }
}

/** dockerd's DeprecatedSchema1ImageError. */
export function schema1Message(fullRef: string): string {
  return (
    'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. ' +
    `Suggest the author of ${fullRef} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. ` +
    'More information at https://docs.docker.com/go/deprecated-image-specs/'
  );
}

/**
 * Registry failures of a push: dockerd passes the registry's first error through (its
 * retryOnError keeps `errcode.Errors[0]`), e.g. `denied: requested access to the resource is denied`.
 */
export function translateRegistryPushError(error: RegistryError): SyncError {
  // The statuses distribution's error codes carry (errcode descriptors), as dockerd's httpstatus maps them.
  const status = error.code === 'DENIED' ? 403 : error.code === 'UNAUTHORIZED' || error instanceof RegistryAuthError ? 401 : error instanceof RegistryNotFoundError ? 404 : 500;
  return new SyncError(firstRegistryError(error), status, { cause: error });
}

/**
 * The job's failure: dockerd's texts for what retrying cannot fix (PermanentJobError with the
 * status), null for failures of our own storage, which BullMQ may retry.
 */
export function permanentFailure(error: unknown, translateRegistry: (error: RegistryError) => SyncError): PermanentJobError | null {
  if (error instanceof PermanentJobError) return error;
  const failure = asSyncError(error, translateRegistry);
  return failure ? new PermanentJobError(failure.message, { status: failure.status, cause: error }) : null;
}

function asSyncError(error: unknown, translateRegistry: (error: RegistryError) => SyncError): SyncError | null {
  if (error instanceof SyncError) return error;
  if (error instanceof RegistryError) return translateRegistry(error);
  if (error instanceof InvalidReferenceError || error instanceof InvalidPlatformError) return new SyncError(error.message, 400, { cause: error });
  if (error instanceof ReservedNameError) return new SyncError(error.message, 403, { cause: error });
  if (error instanceof ManifestError || error instanceof ImageConfigError) return new SyncError(error.message, 500, { cause: error });
  if (error instanceof ArchiveError || error instanceof UnsafeArchiveError) return new SyncError(error.message, 500, { cause: error });
  if (error instanceof DigestMismatchError || error instanceof SizeMismatchError || error instanceof InvalidDigestError) {
    return new SyncError(error.message, 500, { cause: error });
  }
  return null;
}
