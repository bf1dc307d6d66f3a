import { isDigest, isValidTag, REPOSITORY_NAME_MAX_LENGTH } from '@cargohold/oci';
import { RegistryError } from './registry-errors';

// distribution/reference's path grammar: lowercase components joined by `/`.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);

/** Refuses a repository path that is not valid (it is put into URLs as is). */
export function assertRepository(repo: string): void {
  if (!REPOSITORY_RE.test(repo) || repo.length > REPOSITORY_NAME_MAX_LENGTH) {
    throw new RegistryError(`invalid repository name ${JSON.stringify(repo)}: expected lowercase path components such as library/busybox`, { code: 'NAME_INVALID' });
  }
}

/** Refuses anything but a tag or a digest. */
export function assertTagOrDigest(reference: string): void {
  if (!isValidTag(reference) && !isDigest(reference)) {
    throw new RegistryError(`invalid tag or digest ${JSON.stringify(reference)}`, { code: 'TAG_INVALID' });
  }
}

export function assertDigest(digest: string): void {
  if (!isDigest(digest)) throw new RegistryError(`invalid digest ${JSON.stringify(digest)}`, { code: 'DIGEST_INVALID' });
}
