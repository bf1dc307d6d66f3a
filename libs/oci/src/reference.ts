import { InvalidDigestError, parseDigest } from './digest';

/**
 * A parsed, normalized image reference (github.com/distribution/reference `ParseNormalizedNamed`).
 * `docker.io` names carry the `library/` prefix for official images; other hosts stay as typed.
 */
export interface Reference {
  /** `domain/path`, e.g. `docker.io/library/busybox`, `127.0.0.1:5000/busybox`. */
  name: string;
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** Thrown for a reference dockerd would refuse; the message is dockerd's own text. */
export class InvalidReferenceError extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
    this.name = 'InvalidReferenceError';
  }
}

// The grammar of distribution/reference regexp.go, piece by piece.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6address})(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const namePattern = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRe = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const anchoredNameRe = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRe = new RegExp(`^${tagPattern}$`);
const anchoredIdentifierRe = /^[a-f0-9]{64}$/;

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
export const REPOSITORY_NAME_MAX_LENGTH = 255;

// Longer inputs cannot be valid references in practice; refusing them early keeps the regexps' cost bounded.
const MAX_INPUT_LENGTH = 4096;

/** Splits off the registry host the way the docker CLI does (`splitDockerDomain`). */
function splitDockerDomain(input: string): { domain: string; remainder: string } {
  const slash = input.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + input };
  const maybeDomain = input.slice(0, slash);
  const maybeRemainder = input.slice(slash + 1);
  let domain = DEFAULT_DOMAIN;
  let remainder = input;
  if (maybeDomain === 'localhost') {
    domain = maybeDomain;
    remainder = maybeRemainder;
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    remainder = maybeRemainder;
  } else if (/[.:]/.test(maybeDomain) || maybeDomain.toLowerCase() !== maybeDomain) {
    domain = maybeDomain;
    remainder = maybeRemainder;
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Parses what a user typed (`busybox`, `host:5000/a/b:tag`, `name:tag@sha256:…`) into a normalized
 * reference, accepting and refusing exactly what dockerd does.
 */
export function parseReference(input: string): Reference {
  if (anchoredIdentifierRe.test(input)) {
    throw new InvalidReferenceError(
      `invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`,
      input,
    );
  }
  if (input.length > MAX_INPUT_LENGTH) throw new InvalidReferenceError('invalid reference format', input);

  const { domain: splitDomain, remainder } = splitDockerDomain(input);
  const colon = remainder.indexOf(':');
  const remote = colon > -1 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new InvalidReferenceError(
      `invalid reference format: repository name (${remote}) must be lowercase`,
      input,
    );
  }

  const full = `${splitDomain}/${remainder}`;
  const match = referenceRe.exec(full);
  if (!match) {
    const lower = full.toLowerCase();
    if (lower !== full && referenceRe.test(lower)) {
      throw new InvalidReferenceError('repository name must be lowercase', input);
    }
    throw new InvalidReferenceError('invalid reference format', input);
  }
  const [, name, tag, digest] = match;
  const nameMatch = anchoredNameRe.exec(name);
  const domain = nameMatch?.[1] ?? '';
  const path = nameMatch?.[2] ?? name;
  if (path.length > REPOSITORY_NAME_MAX_LENGTH) {
    throw new InvalidReferenceError(
      `repository name must not be more than ${REPOSITORY_NAME_MAX_LENGTH} characters`,
      input,
    );
  }
  if (digest !== undefined) {
    try {
      parseDigest(digest);
    } catch (err) {
      if (err instanceof InvalidDigestError) throw new InvalidReferenceError(err.message, input);
      throw err;
    }
  }
  const ref: Reference = { name, domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** True when `tag` is a valid tag (`[\w][\w.-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return anchoredTagRe.test(tag);
}

/** The short form the docker CLI shows: `docker.io/library/x` → `x`, `docker.io/u/x` → `u/x`. */
export function familiarName(name: string): string {
  if (!name.startsWith(`${DEFAULT_DOMAIN}/`)) return name;
  const path = name.slice(DEFAULT_DOMAIN.length + 1);
  if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const remainder = path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!remainder.includes('/')) return remainder;
  }
  return path;
}

function withSuffixes(name: string, ref: Reference): string {
  return name + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** `busybox:latest`, `127.0.0.1:5000/a@sha256:…` — what the docker CLI prints. */
export function familiarString(ref: Reference): string {
  return withSuffixes(familiarName(ref.name), ref);
}

/** The full normalized form, e.g. `docker.io/library/busybox:latest`. */
export function formatReference(ref: Reference): string {
  return withSuffixes(ref.name, ref);
}

/** Adds the `latest` tag when the reference has neither tag nor digest (`TagNameOnly`). */
export function withDefaultTag(ref: Reference): Reference {
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return { ...ref, tag: DEFAULT_TAG };
}
