import { parseManifestReference, parseRegistryPath, registryPathOf, repositoryOf } from './registry-route.util';

describe('parseRegistryPath', () => {
  it('finds the route from the right, so names may contain route words', () => {
    expect(parseRegistryPath('/v2/')).toEqual({ kind: 'base' });
    expect(parseRegistryPath('/v2/_catalog')).toEqual({ kind: 'catalog' });
    expect(parseRegistryPath('/v2/team/app/tags/list')).toEqual({ kind: 'tags', name: 'team/app' });
    expect(parseRegistryPath('/v2/a/manifests/b/manifests/1')).toEqual({ kind: 'manifest', name: 'a/manifests/b', reference: '1' });
    expect(parseRegistryPath('/v2/app/blobs/sha256:ab')).toEqual({ kind: 'blob', name: 'app', digest: 'sha256:ab' });
    expect(parseRegistryPath('/v2/app/blobs/uploads/')).toEqual({ kind: 'upload', name: 'app' });
    expect(parseRegistryPath('/v2/app/blobs/uploads/0b5f4a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b')).toEqual({
      kind: 'upload',
      name: 'app',
      uuid: '0b5f4a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    });
    expect(parseRegistryPath('/v2/app/referrers/sha256:ab')).toEqual({ kind: 'referrers', name: 'app', digest: 'sha256:ab' });
    expect(parseRegistryPath('/v2/app/other')).toBeNull();
    expect(parseRegistryPath('/images/json')).toBeNull();
  });
});

describe('repository names', () => {
  it('maps registry paths onto the names the Docker API shows', () => {
    expect(repositoryOf('app')).toBe('docker.io/library/app');
    expect(repositoryOf('library/app')).toBe('docker.io/library/app');
    expect(repositoryOf('team/app')).toBe('docker.io/team/app');
    expect(repositoryOf('ghcr.io/team/app')).toBe('ghcr.io/team/app');
    expect(registryPathOf('docker.io/library/app')).toBe('app');
    expect(registryPathOf('docker.io/team/app')).toBe('team/app');
    expect(registryPathOf('127.0.0.1:5000/app')).toBeNull();
  });

  it('refuses names the spec does not allow', () => {
    for (const bad of ['App', 'a//b', '-a', 'a/', 'a..b', 'x'.repeat(256)]) {
      expect(() => repositoryOf(bad), bad).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    }
  });
});

describe('parseManifestReference', () => {
  it('tells tags from digests and refuses malformed ones', () => {
    expect(parseManifestReference('v1.0')).toEqual({ tag: 'v1.0' });
    expect(parseManifestReference(`sha256:${'a'.repeat(64)}`)).toEqual({ digest: `sha256:${'a'.repeat(64)}` });
    expect(() => parseManifestReference('sha256:zz')).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
    expect(() => parseManifestReference('.bad')).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID' }));
  });
});
