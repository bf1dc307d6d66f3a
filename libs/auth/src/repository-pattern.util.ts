import { familiarName, parseReference } from '@cargohold/oci';
import { InvalidScopeError } from './auth.errors';

/** Longer than any repository name (255) with room for a registry host; bounds the regexp too. */
export const MAX_PATTERN_LENGTH = 512;

const DOCKER_HUB_PREFIX = /^(?:index\.)?docker\.io\//;
// The first of several components may be a registry host: `127.0.0.1:5000`, `Registry.example`, `[::1]:5000`.
const HOST_COMPONENT = /^[A-Za-z0-9._:[\]*-]+$/;
const PATH_COMPONENT = /^[a-z0-9._*-]+$/;

/**
 * Checks a repository pattern (exact familiar name; `*` = any characters except `/`; `**` =
 * anything, `/` included) and returns it. Throws InvalidScopeError saying what is wrong.
 */
export function validateRepositoryPattern(pattern: string): string {
  const problem = patternProblem(pattern);
  if (problem) throw new InvalidScopeError(`invalid repository pattern ${JSON.stringify(pattern)}: ${problem}`);
  return pattern;
}

function patternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string' || pattern === '') return 'it is empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `it is longer than ${MAX_PATTERN_LENGTH} characters`;
  if (/\s/.test(pattern)) return 'it contains whitespace';
  if (pattern.includes('@')) return 'patterns name repositories, not digests: drop the "@…" part';
  if (/\*{3,}/.test(pattern)) return 'use * (within one path component) or ** (across components), not ***';
  if (DOCKER_HUB_PREFIX.test(pattern)) {
    const familiar = pattern.replace(DOCKER_HUB_PREFIX, '').replace(/^library\/(?=[^/]+$)/, '');
    return `write Docker Hub repositories as docker shows them ("${familiar}"), without docker.io/`;
  }
  const components = pattern.split('/');
  if (components.includes('')) return 'it has an empty path component (a leading, trailing or doubled "/")';
  for (const [index, component] of components.entries()) {
    const mayBeHost = index === 0 && components.length > 1;
    if ((mayBeHost ? HOST_COMPONENT : PATH_COMPONENT).test(component)) continue;
    if (!mayBeHost && component.includes(':')) return 'tags are not part of a repository pattern: drop the ":tag" part';
    if (!mayBeHost && /[A-Z]/.test(component)) return 'repository names are lowercase';
    return `"${component}" may only contain a-z, 0-9, ".", "_", "-" and the wildcards * and **`;
  }
  return undefined;
}

const compiled = new Map<string, RegExp>();
const COMPILED_CACHE_LIMIT = 1000;

/** True when the familiar repository name matches the (valid) pattern. */
export function matchesRepositoryPattern(pattern: string, repository: string): boolean {
  if (!pattern.includes('*')) return pattern === repository;
  let re = compiled.get(pattern);
  if (!re) {
    re = compilePattern(pattern);
    if (compiled.size >= COMPILED_CACHE_LIMIT) compiled.clear();
    compiled.set(pattern, re);
  }
  return re.test(repository);
}

function compilePattern(pattern: string): RegExp {
  const source = pattern
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${source}$`);
}

/**
 * The familiar name patterns are matched against, from any spelling of a repository:
 * `docker.io/library/app`, `library/app` (a registry path) and `app` all give `app`.
 * Throws InvalidReferenceError (from @cargohold/oci) for names docker would refuse.
 */
export function familiarRepository(name: string): string {
  return familiarName(parseReference(name).name);
}
