import { familiarName, isDigest, parseReference } from '@cargohold/oci';
import { RegistryApiError } from './registry-errors';

/** What a `/v2/…` path addresses. `name` is the repository path as the client sent it. */
export type RegistryRoute =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'upload'; name: string; uuid?: string }
  | { kind: 'referrers'; name: string; digest: string };

// distribution-spec: path components of lowercase alphanumerics joined by `.`, `_`, `__` or dashes.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const UUID_RE = /^[0-9a-f-]{36}$/;
const NAME_MAX = 255;

function invalidName(name: string): RegistryApiError {
  return new RegistryApiError('NAME_INVALID', 'invalid repository name', { name });
}

/**
 * Splits a registry path (without query) into its route. The repository name may itself contain
 * slashes, so the route is found from the right: the last `/manifests/`, `/blobs/`, `/tags/list`.
 * Returns null for paths that are not part of the API (a plain 404).
 */
export function parseRegistryPath(path: string): RegistryRoute | null {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (!path.startsWith('/v2/')) return null;
  const rest = path.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  const patterns: Array<[RegExp, (m: RegExpExecArray) => RegistryRoute]> = [
    [/^(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1] })],
    [/^(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1], reference: decodeURIComponent(m[2]) })],
    [/^(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'upload', name: m[1] })],
    [/^(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1], uuid: m[2] })],
    [/^(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1], digest: decodeURIComponent(m[2]) })],
    [/^(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1], digest: decodeURIComponent(m[2]) })],
  ];
  for (const [re, build] of patterns) {
    const match = re.exec(rest);
    if (match) return build(match);
  }
  return null;
}

/**
 * The local repository a registry path names, normalised as the Docker API stores it: a client
 * pushing `cargohold:5000/app` lands in `app` (`docker.io/library/app`), exactly what
 * `docker image ls` then shows; `ghcr.io/team/app` as a path stays that name.
 */
export function repositoryOf(name: string): string {
  if (name.length > NAME_MAX || !NAME_RE.test(name)) throw invalidName(name);
  try {
    return parseReference(name).name;
  } catch {
    throw invalidName(name);
  }
}

/** The registry path a local repository is served under; null when it has none (a `host:port/…` name). */
export function registryPathOf(repository: string): string | null {
  const path = familiarName(repository);
  return NAME_RE.test(path) ? path : null;
}

export function isTag(reference: string): boolean {
  return TAG_RE.test(reference);
}

/** Checks a manifest reference: a tag or a digest. */
export function parseManifestReference(reference: string): { tag: string } | { digest: string } {
  if (reference.includes(':')) {
    if (!isDigest(reference)) throw new RegistryApiError('DIGEST_INVALID', 'provided digest did not match uploaded content', { digest: reference });
    return { digest: reference };
  }
  if (!isTag(reference)) throw new RegistryApiError('MANIFEST_INVALID', 'manifest invalid', { reason: `invalid tag ${JSON.stringify(reference)}` });
  return { tag: reference };
}

export function isUploadId(uuid: string): boolean {
  return UUID_RE.test(uuid);
}
