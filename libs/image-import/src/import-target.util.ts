import { familiarName, hostPlatform, InvalidReferenceError, isValidTag, parsePlatform, parseReference, type Platform, type Reference } from '@cargohold/oci';

export interface ImportTarget {
  ref: Reference & { tag: string };
  /** `busybox:latest`, as the CLI shows it. */
  familiar: string;
}

/**
 * Where an import is tagged, as dockerd's `RepoTagReference`: no repository means untagged; a
 * `tag` parameter overrides a tag in `repo`; `latest` otherwise. Throws InvalidReferenceError with
 * dockerd's text.
 */
export function importTarget(repo: string | undefined, tag: string | undefined): ImportTarget | null {
  if (!repo) return null;
  const parsed = parseReference(repo);
  if (parsed.digest !== undefined) throw new InvalidReferenceError('cannot import digest reference', repo);
  if (tag && !isValidTag(tag)) throw new InvalidReferenceError('invalid tag format', tag);
  const finalTag = tag || parsed.tag || 'latest';
  const ref = { name: parsed.name, domain: parsed.domain, path: parsed.path, tag: finalTag };
  return { ref, familiar: `${familiarName(ref.name)}:${finalTag}` };
}

/**
 * The platform an imported image declares: `os[/arch[/variant]]` or the host's. Spelled as
 * dockerd writes it into the config, where arm64's implied `v8` is left out.
 */
export function importPlatform(specifier: string | undefined): Platform {
  const platform = specifier ? parsePlatform(specifier) : hostPlatform();
  if (platform.architecture === 'arm64' && platform.variant === 'v8') {
    const { variant: _implied, ...rest } = platform;
    return rest;
  }
  return platform;
}
