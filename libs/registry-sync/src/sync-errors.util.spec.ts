import { describe, expect, it } from 'vitest';
import { RegistryAuthError, RegistryError, RegistryNotFoundError } from '@cargohold/registry-client';
import { DigestMismatchError } from '@cargohold/storage';
import { permanentFailure, SyncError, translateRegistryPullError, translateRegistryPushError } from './sync-errors.util';

const context = { repositoryName: '127.0.0.1:5000/busybox', familiarRef: '127.0.0.1:5000/busybox:nope', fullRef: '127.0.0.1:5000/busybox:nope' };
const hub = { repositoryName: 'docker.io/library/busybox', familiarRef: 'busybox:latest', fullRef: 'docker.io/library/busybox:latest' };

describe('translateRegistryPullError (dockerd translatePullError)', () => {
  it('gives dockerd\'s 404 texts for an unknown manifest, an unknown repository and denied access', () => {
    expect(translateRegistryPullError(new RegistryNotFoundError('manifest unknown: manifest unknown', { status: 404, code: 'MANIFEST_UNKNOWN' }), context)).toMatchObject({
      status: 404,
      message: 'manifest for 127.0.0.1:5000/busybox:nope not found: manifest unknown: manifest unknown',
    });
    expect(translateRegistryPullError(new RegistryNotFoundError('name unknown: repository name not known to registry', { status: 404, code: 'NAME_UNKNOWN' }), hub)).toMatchObject({
      status: 404,
      message: 'repository busybox not found: name unknown: repository name not known to registry',
    });
    const denied = new RegistryAuthError('errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required', { status: 401, code: 'DENIED' });
    expect(translateRegistryPullError(denied, hub)).toMatchObject({
      status: 404,
      message: "pull access denied for busybox, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    });
  });

  it('answers 401 with the registry\'s words for refused credentials', () => {
    expect(translateRegistryPullError(new RegistryAuthError('unauthorized: incorrect username or password', { status: 401, code: 'UNAUTHORIZED' }), hub)).toMatchObject({
      status: 401,
      message: 'unauthorized: incorrect username or password',
    });
  });

  it('gives dockerd\'s schema1 deprecation text', () => {
    const schema1 = new RegistryError('schema1 manifests are not supported: … (busybox:latest)', { code: 'MANIFEST_INVALID' });
    expect(translateRegistryPullError(schema1, hub)).toMatchObject({
      status: 400,
      message:
        'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of docker.io/library/busybox:latest ' +
        'to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/',
    });
  });

  it('passes other registry failures through as 500', () => {
    expect(translateRegistryPullError(new RegistryError('received unexpected HTTP status: 503 Service Unavailable', { status: 503 }), hub)).toMatchObject({ status: 500 });
  });
});

describe('translateRegistryPushError', () => {
  it('keeps the first error, with the status of its code', () => {
    const denied = new RegistryAuthError('errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required', { status: 401, code: 'DENIED' });
    expect(translateRegistryPushError(denied)).toMatchObject({ status: 403, message: 'denied: requested access to the resource is denied' });
    expect(translateRegistryPushError(new RegistryAuthError('unauthorized: authentication required', { status: 401, code: 'UNAUTHORIZED' }))).toMatchObject({ status: 401 });
  });
});

describe('permanentFailure', () => {
  const translate = (error: RegistryError) => translateRegistryPullError(error, hub);
  it('makes dockerd-text failures permanent with their status, and leaves our own I/O failures retryable', () => {
    expect(permanentFailure(new SyncError('no matching manifest for linux/s390x in the manifest list entries', 500), translate)).toMatchObject({ status: 500 });
    expect(permanentFailure(new DigestMismatchError('sha256:a', 'sha256:b'), translate)).toMatchObject({ status: 500 });
    expect(permanentFailure(new Error('SQLITE_BUSY: database is locked'), translate)).toBeNull();
  });
});
