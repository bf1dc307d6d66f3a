import { describe, expect, it } from 'vitest';
import { stripDockerApiVersion } from './docker-api-version.util';

describe('stripDockerApiVersion', () => {
  it('removes the version the docker CLI puts in front of every path', () => {
    expect(stripDockerApiVersion('/v1.47/images/json')).toBe('/images/json');
    expect(stripDockerApiVersion('/v1.24/images/load?quiet=1')).toBe('/images/load?quiet=1');
    expect(stripDockerApiVersion('/v1.51/images/127.0.0.1:5000/a/b:tag/json')).toBe('/images/127.0.0.1:5000/a/b:tag/json');
  });

  it('maps a bare version to the root', () => {
    expect(stripDockerApiVersion('/v1.47')).toBe('/');
    expect(stripDockerApiVersion('/v1.47?x=1')).toBe('/?x=1');
  });

  it('leaves unversioned paths alone', () => {
    expect(stripDockerApiVersion('/_ping')).toBe('/_ping');
    expect(stripDockerApiVersion('/images/v1.2/json')).toBe('/images/v1.2/json');
    expect(stripDockerApiVersion('/healthz')).toBe('/healthz');
  });

  it('leaves the OCI Distribution API (/v2/) alone', () => {
    expect(stripDockerApiVersion('/v2/')).toBe('/v2/');
    expect(stripDockerApiVersion('/v2/library/busybox/manifests/latest')).toBe('/v2/library/busybox/manifests/latest');
  });

  it('only strips a whole version segment', () => {
    expect(stripDockerApiVersion('/v1.47x/images/json')).toBe('/v1.47x/images/json');
  });
});
