import { describe, expect, it } from 'vitest';
import { hostPlatform, InvalidPlatformError, InvalidReferenceError } from '@cargohold/oci';
import { importPlatform, importTarget } from './import-target.util';

describe('importTarget', () => {
  it('leaves the image untagged without a repository', () => {
    expect(importTarget(undefined, 'v1')).toBeNull();
    expect(importTarget('', undefined)).toBeNull();
  });

  it('defaults the tag to latest and keeps a tag given in repo', () => {
    expect(importTarget('busybox', undefined)).toEqual({
      ref: { name: 'docker.io/library/busybox', domain: 'docker.io', path: 'library/busybox', tag: 'latest' },
      familiar: 'busybox:latest',
    });
    expect(importTarget('127.0.0.1:5000/team/app:1.2', undefined)?.familiar).toBe('127.0.0.1:5000/team/app:1.2');
  });

  it('lets the tag parameter override a tag in repo', () => {
    expect(importTarget('app:old', 'new')?.familiar).toBe('app:new');
  });

  it('refuses what dockerd refuses, with its text', () => {
    expect(() => importTarget('Not Valid', undefined)).toThrow(InvalidReferenceError);
    expect(() => importTarget('not valid', undefined)).toThrow('invalid reference format');
    expect(() => importTarget(`app@sha256:${'a'.repeat(64)}`, undefined)).toThrow('cannot import digest reference');
    expect(() => importTarget('app', 'bad:tag')).toThrow('invalid tag format');
  });
});

describe('importPlatform', () => {
  it('is the host platform by default', () => {
    const host = hostPlatform();
    expect(importPlatform(undefined)).toMatchObject({ os: host.os, architecture: host.architecture });
  });

  it('parses os/arch/variant, leaving out arm64\'s implied v8', () => {
    expect(importPlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(importPlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(importPlatform('linux/arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(importPlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
  });

  it('refuses a malformed platform', () => {
    expect(() => importPlatform('linux/amd64/v1/extra')).toThrow(InvalidPlatformError);
  });
});
