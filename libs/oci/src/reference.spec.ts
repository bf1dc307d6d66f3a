import { describe, expect, it } from 'vitest';
import {
  familiarName,
  familiarString,
  formatReference,
  InvalidReferenceError,
  isValidTag,
  parseReference,
  withDefaultTag,
} from './reference';

const HEX = 'f'.repeat(64);
const DIGEST = `sha256:${HEX}`;

function errorOf(input: string): string {
  try {
    parseReference(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidReferenceError);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined],
    ['library/busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['docker.io/busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['index.docker.io/busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['index.docker.io/u/app', 'docker.io', 'u/app', undefined, undefined],
    ['user/app:v1', 'docker.io', 'user/app', 'v1', undefined],
    ['a/b/c', 'docker.io', 'a/b/c', undefined, undefined],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['localhost:5000/app:tag', 'localhost:5000', 'app', 'tag', undefined],
    ['127.0.0.1:5000/busybox', '127.0.0.1:5000', 'busybox', undefined, undefined],
    ['test:5000/repo', 'test:5000', 'repo', undefined, undefined],
    [`test:5000/repo@${DIGEST}`, 'test:5000', 'repo', undefined, DIGEST],
    [`test:5000/repo:tag@${DIGEST}`, 'test:5000', 'repo', 'tag', DIGEST],
    [`busybox:latest@${DIGEST}`, 'docker.io', 'library/busybox', 'latest', DIGEST],
    ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag', undefined],
    ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io', 'test.example.com/my-app', 'test.example.com', undefined],
    ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com', 'myimage', 'xn--n3h.com', undefined],
    ['foo_bar.com:8080', 'docker.io', 'library/foo_bar.com', '8080', undefined],
    ['test.com:5000', 'docker.io', 'library/test.com', '5000', undefined],
    ['foo/foo_bar.com:8080', 'docker.io', 'foo/foo_bar.com', '8080', undefined],
    ['192.168.1.1', 'docker.io', 'library/192.168.1.1', undefined, undefined],
    ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000', 'repo', '5050', undefined],
    ['[2001:db8::1]/repo', '[2001:db8::1]', 'repo', undefined, undefined],
    ['[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000', 'repo', 'tag', undefined],
    ['[::1]:5000/repo', '[::1]:5000', 'repo', undefined, undefined],
    ['lowercase:Uppercase', 'docker.io', 'library/lowercase', 'Uppercase', undefined],
    ['Docker/docker', 'Docker', 'docker', undefined, undefined],
    ['LOCALDOMAIN/debian', 'LOCALDOMAIN', 'debian', undefined, undefined],
    ['docker---rules/docker', 'docker.io', 'docker---rules/docker', undefined, undefined],
    ['dock__er/docker', 'docker.io', 'dock__er/docker', undefined, undefined],
    ['d/docker', 'docker.io', 'd/docker', undefined, undefined],
    [`docker.io/${'1a'.repeat(32)}`, 'docker.io', `library/${'1a'.repeat(32)}`, undefined, undefined],
    [`example.com/${'a'.repeat(255)}:tag`, 'example.com', 'a'.repeat(255), 'tag', undefined],
  ])('%s', (input, domain, path, tag, digest) => {
    const ref = parseReference(input);
    expect(ref.domain).toBe(domain);
    expect(ref.path).toBe(path);
    expect(ref.name).toBe(`${domain}/${path}`);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
  });

  it.each([
    ['', 'invalid reference format'],
    [':justtag', 'invalid reference format'],
    [`@${DIGEST}`, 'invalid reference format'],
    ['https://github.com/docker/docker', 'invalid reference format'],
    ['-docker', 'invalid reference format'],
    ['-docker/docker', 'invalid reference format'],
    ['docker-/docker', 'invalid reference format'],
    ['docker///docker', 'invalid reference format'],
    ['docker/', 'invalid reference format'],
    ['____/____', 'invalid reference format'],
    ['dock..er/docker', 'invalid reference format'],
    ['dock_.er/docker', 'invalid reference format'],
    ['a/../b', 'invalid reference format'],
    ['..', 'invalid reference format'],
    ['aa/asdf$$^/aa', 'invalid reference format'],
    ['[fc00::1]', 'invalid reference format'],
    ['[fc00::1]:5000', 'invalid reference format'],
    ['fc00::1:5000/debian', 'invalid reference format'],
    ['[fe80::1%eth0]:5000/debian', 'invalid reference format'],
    ['busybox:', 'invalid reference format'],
    ['busybox:-tag', 'invalid reference format'],
    [`busybox:${'a'.repeat(129)}`, 'invalid reference format'],
    ['busybox@sha256:abc', 'invalid reference format'],
    ['Foo', 'invalid reference format: repository name (library/Foo) must be lowercase'],
    ['Uppercase:tag', 'invalid reference format: repository name (library/Uppercase) must be lowercase'],
    ['docker/Docker', 'invalid reference format: repository name (docker/Docker) must be lowercase'],
    ['docker.io/docker/Docker', 'invalid reference format: repository name (docker/Docker) must be lowercase'],
    ['test:5000/Uppercase/lowercase:tag', 'invalid reference format: repository name (Uppercase/lowercase) must be lowercase'],
    ['1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a', 'invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), cannot specify 64-byte hexadecimal strings'],
    [`domain.com/${'a'.repeat(256)}:tag`, 'repository name must not be more than 255 characters'],
    ['a'.repeat(248), 'repository name must not be more than 255 characters'],
    [`repo@sha256:${'f'.repeat(34)}`, 'invalid checksum digest length'],
    [`validname@invaliddigest:${HEX}`, 'unsupported digest algorithm'],
    [`validname@sha256:${'F'.repeat(64)}`, 'invalid checksum digest format'],
  ])('refuses %j', (input, message) => {
    expect(errorOf(input)).toBe(message);
  });

  it('accepts a 247-character official name (255 with library/)', () => {
    expect(parseReference('a'.repeat(247)).path).toHaveLength(255);
  });

  it('refuses absurdly long input quickly', () => {
    const started = Date.now();
    expect(errorOf(`${'a-'.repeat(50_000)}!`)).toBe('invalid reference format');
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('familiar forms', () => {
  it.each([
    ['docker.io/library/busybox', 'busybox'],
    ['docker.io/user/app', 'user/app'],
    ['docker.io/library/a/b', 'library/a/b'],
    ['127.0.0.1:5000/busybox', '127.0.0.1:5000/busybox'],
    ['localhost/app', 'localhost/app'],
    ['quay.io/library/x', 'quay.io/library/x'],
  ])('familiarName(%s) = %s', (name, familiar) => {
    expect(familiarName(name)).toBe(familiar);
  });

  it.each([
    ['busybox', 'busybox', 'docker.io/library/busybox'],
    ['busybox:latest', 'busybox:latest', 'docker.io/library/busybox:latest'],
    ['index.docker.io/user/app:v1', 'user/app:v1', 'docker.io/user/app:v1'],
    [`127.0.0.1:5000/a@${DIGEST}`, `127.0.0.1:5000/a@${DIGEST}`, `127.0.0.1:5000/a@${DIGEST}`],
    [`busybox:1@${DIGEST}`, `busybox:1@${DIGEST}`, `docker.io/library/busybox:1@${DIGEST}`],
  ])('%s → %s / %s', (input, familiar, full) => {
    const ref = parseReference(input);
    expect(familiarString(ref)).toBe(familiar);
    expect(formatReference(ref)).toBe(full);
    expect(formatReference(parseReference(familiarString(ref)))).toBe(full);
  });

  it('withDefaultTag adds latest only to bare names', () => {
    expect(withDefaultTag(parseReference('busybox')).tag).toBe('latest');
    expect(withDefaultTag(parseReference('busybox:1')).tag).toBe('1');
    const digested = withDefaultTag(parseReference(`busybox@${DIGEST}`));
    expect(digested.tag).toBeUndefined();
    expect(digested.digest).toBe(DIGEST);
  });
});

describe('isValidTag', () => {
  it.each([
    ['latest', true],
    ['1.36.1-musl', true],
    ['_private', true],
    ['A', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['.hidden', false],
    ['-x', false],
    ['', false],
    ['a:b', false],
    ['a/b', false],
  ])('%j → %s', (tag, valid) => {
    expect(isValidTag(tag)).toBe(valid);
  });
});
