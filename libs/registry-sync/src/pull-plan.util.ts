import { familiarName, familiarString, formatReference, InvalidReferenceError, isDigest, isValidTag, parseReference, type Reference } from '@cargohold/oci';

/** A repository without tag or digest (`name`, `domain`, `path` of a parsed reference). */
export type RepositoryName = Pick<Reference, 'name' | 'domain' | 'path'>;

/** One manifest to pull: by tag, or by digest (a tag given along with a digest is only shown). */
export type PullTarget = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string; tag?: string };

export interface PullPlan {
  repository: RepositoryName;
  /** One reference, or every tag of the repository (`docker pull -a`). */
  targets: PullTarget | 'all-tags';
}

export interface PullRequest {
  image: string;
  tag?: string;
  allTags?: boolean;
}

/** Thrown for a reference dockerd forbids (403), as opposed to one it cannot parse (400). */
export class ReservedNameError extends Error {
  constructor(name: string) {
    super(`'${name}' is a reserved name`);
    this.name = 'ReservedNameError';
  }
}

/**
 * What dockerd's `POST /images/create` pulls for `fromImage` + `tag`: a trailing `:` is dropped;
 * a digest in `tag` replaces whatever `fromImage` named; a tag in `tag` replaces the image's tag
 * (a digest in the image still wins); nothing at all means `latest`, or every tag with `allTags`.
 * Throws InvalidReferenceError (dockerd's texts) or ReservedNameError for `scratch`.
 */
export function planPull(request: PullRequest): PullPlan {
  const image = request.image.endsWith(':') ? request.image.slice(0, -1) : request.image;
  const ref = parseReference(image);
  const repository: RepositoryName = { name: ref.name, domain: ref.domain, path: ref.path };
  if (familiarName(ref.name) === 'scratch') throw new ReservedNameError('scratch');
  const tag = request.tag ?? '';
  if (tag !== '') {
    if (isDigest(tag)) return { repository, targets: { kind: 'digest', digest: tag } };
    if (!isValidTag(tag)) throw new InvalidReferenceError('invalid tag format', tag);
    return { repository, targets: ref.digest ? { kind: 'digest', digest: ref.digest, tag } : { kind: 'tag', tag } };
  }
  if (ref.digest) return { repository, targets: ref.tag ? { kind: 'digest', digest: ref.digest, tag: ref.tag } : { kind: 'digest', digest: ref.digest } };
  if (ref.tag) return { repository, targets: { kind: 'tag', tag: ref.tag } };
  return { repository, targets: request.allTags ? 'all-tags' : { kind: 'tag', tag: 'latest' } };
}

function asReference(repository: RepositoryName, target: PullTarget | 'all-tags'): Reference {
  if (target === 'all-tags') return { ...repository };
  if (target.kind === 'tag') return { ...repository, tag: target.tag };
  return target.tag ? { ...repository, tag: target.tag, digest: target.digest } : { ...repository, digest: target.digest };
}

/** The id of dockerd's `Pulling from` line: the tag, or the whole normalised reference for a digest. */
export function pullingFromId(repository: RepositoryName, target: PullTarget): string {
  return target.kind === 'tag' ? target.tag : formatReference(asReference(repository, target));
}

/** The reference as the CLI shows it (`busybox:latest`, `127.0.0.1:5000/a@sha256:…`, `busybox` for -a). */
export function familiarTarget(repository: RepositoryName, target: PullTarget | 'all-tags'): string {
  return familiarString(asReference(repository, target));
}
