import { describe, expect, it } from 'vitest';
import { InvalidScopeError } from './auth.errors';
import { familiarRepository, matchesRepositoryPattern, validateRepositoryPattern } from './repository-pattern.util';

describe('matchesRepositoryPattern', () => {
  it('an exact name matches only itself', () => {
    expect(matchesRepositoryPattern('app', 'app')).toBe(true);
    expect(matchesRepositoryPattern('app', 'apps')).toBe(false);
    expect(matchesRepositoryPattern('app', 'team/app')).toBe(false);
    expect(matchesRepositoryPattern('team/app', 'team/app')).toBe(true);
  });

  it('* stays within one path component', () => {
    expect(matchesRepositoryPattern('team/*', 'team/app')).toBe(true);
    expect(matchesRepositoryPattern('team/*', 'team/app/sub')).toBe(false);
    expect(matchesRepositoryPattern('team/*', 'team')).toBe(false);
    expect(matchesRepositoryPattern('*', 'app')).toBe(true);
    expect(matchesRepositoryPattern('*', 'team/app')).toBe(false);
    expect(matchesRepositoryPattern('app-*', 'app-web')).toBe(true);
    expect(matchesRepositoryPattern('app-*', 'app-web/x')).toBe(false);
    expect(matchesRepositoryPattern('*/app', '127.0.0.1:5000/app')).toBe(true);
  });

  it('** crosses path components', () => {
    expect(matchesRepositoryPattern('**', 'app')).toBe(true);
    expect(matchesRepositoryPattern('**', '127.0.0.1:5000/a/b/c')).toBe(true);
    expect(matchesRepositoryPattern('team/**', 'team/app')).toBe(true);
    expect(matchesRepositoryPattern('team/**', 'team/a/b')).toBe(true);
    expect(matchesRepositoryPattern('team/**', 'team')).toBe(false);
    expect(matchesRepositoryPattern('team/**', 'teams/app')).toBe(false);
    expect(matchesRepositoryPattern('**/app', 'x/y/app')).toBe(true);
    expect(matchesRepositoryPattern('**/app', 'x/y/apps')).toBe(false);
  });

  it('treats regular-expression characters in names literally', () => {
    expect(matchesRepositoryPattern('a.b/*', 'a.b/x')).toBe(true);
    expect(matchesRepositoryPattern('a.b/*', 'aXb/x')).toBe(false);
    expect(matchesRepositoryPattern('[::1]:5000/*', '[::1]:5000/x')).toBe(true);
    expect(matchesRepositoryPattern('[::1]:5000/*', '1:5000/x')).toBe(false);
  });

  it('matches hosts with ports as part of the name', () => {
    expect(matchesRepositoryPattern('127.0.0.1:5000/**', '127.0.0.1:5000/team/app')).toBe(true);
    expect(matchesRepositoryPattern('127.0.0.1:5000/**', '127.0.0.1:5001/team/app')).toBe(false);
  });
});

describe('validateRepositoryPattern', () => {
  it.each(['app', 'team/app', 'team/*', '**', 'team/**', '127.0.0.1:5000/x', 'Registry.Example:443/a/*', '[::1]:5000/a', 'a_b.c-d/e__f'])('accepts %s', (pattern) => {
    expect(validateRepositoryPattern(pattern)).toBe(pattern);
  });

  it.each([
    ['', /it is empty/],
    ['app:latest', /drop the ":tag" part/],
    ['127.0.0.1:5000/app:1', /drop the ":tag" part/],
    ['app@sha256:abc', /not digests/],
    ['App', /lowercase/],
    ['team/App', /lowercase/],
    ['/app', /empty path component/],
    ['app/', /empty path component/],
    ['a//b', /empty path component/],
    ['***', /not \*\*\*/],
    ['a b', /whitespace/],
    ['docker.io/library/app', /"app"/],
    ['docker.io/team/app', /"team\/app"/],
    ['team/app$', /may only contain/],
    ['x'.repeat(513), /longer than 512/],
  ])('refuses %j', (pattern, message) => {
    expect(() => validateRepositoryPattern(pattern)).toThrow(InvalidScopeError);
    expect(() => validateRepositoryPattern(pattern)).toThrow(message);
  });
});

describe('familiarRepository', () => {
  it('gives the name docker shows for every spelling', () => {
    expect(familiarRepository('docker.io/library/app')).toBe('app');
    expect(familiarRepository('library/app')).toBe('app');
    expect(familiarRepository('app')).toBe('app');
    expect(familiarRepository('team/app')).toBe('team/app');
    expect(familiarRepository('docker.io/team/app')).toBe('team/app');
    expect(familiarRepository('127.0.0.1:5000/x:1')).toBe('127.0.0.1:5000/x');
  });

  it('throws for names docker refuses', () => {
    expect(() => familiarRepository('Team/App')).toThrow();
    expect(() => familiarRepository('a//b')).toThrow();
  });
});
