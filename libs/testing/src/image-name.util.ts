/** A repo tag split the way `docker save` records it. */
export interface FixtureRepoTag {
  /** `busybox`, `localhost:5000/team/app` (familiar: no docker.io/library/). */
  familiarName: string;
  tag: string;
  /** `docker.io/library/busybox:latest`: the io.containerd.image.name annotation. */
  fullName: string;
}

// Kept local on purpose: fixtures must not depend on @cargohold/oci, which they help to test.
export function parseRepoTag(input: string): FixtureRepoTag {
  if (input.includes('@')) throw new Error(`fixture repo tag "${input}" must be name[:tag], not a digest reference`);
  const slash = input.lastIndexOf('/');
  const colon = input.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? input.slice(0, colon) : input;
  const tag = hasTag ? input.slice(colon + 1) : 'latest';
  const { domain, path } = stripDomain(name);
  if (!/^[a-z0-9]+((?:[._]|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path) || !/^\w[\w.-]{0,127}$/.test(tag)) {
    throw new Error(`fixture repo tag "${input}" is not a valid docker reference (lowercase name, tag [A-Za-z0-9_.-])`);
  }
  const fullPath = domain === 'docker.io' && !path.includes('/') ? `library/${path}` : path;
  const familiarName = domain === 'docker.io' ? fullPath.replace(/^library\//, '') : `${domain}/${path}`;
  return { familiarName, tag, fullName: `${domain}/${fullPath}:${tag}` };
}

function stripDomain(name: string): { domain: string; path: string } {
  const first = name.split('/')[0];
  const isDomain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!isDomain) return { domain: 'docker.io', path: name };
  const path = name.slice(first.length + 1);
  return first === 'index.docker.io' ? { domain: 'docker.io', path } : { domain: first, path };
}
