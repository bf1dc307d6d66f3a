import { describe, expect, it } from 'vitest';
import { compileGoRegexp, goRegexpMatch } from './go-regexp.util';

describe('goRegexpMatch (RE2 semantics for ps name filters)', () => {
  it.each([
    ['web', 'web', true],
    ['web', 'my-web-1', true], // unanchored, as Go's MatchString
    ['^web$', 'web', true],
    ['^web$', 'web2', false],
    ['^alpha', 'alpha2', true],
    ['^/alpha$', '/alpha', true],
    ['a.c', 'abc', true],
    ['a.c', 'a\nc', false],
    ['ab*c', 'ac', true],
    ['ab+c', 'ac', false],
    ['colou?r', 'color', true],
    ['^(web|db)-[0-9]+$', 'db-12', true],
    ['^(web|db)-[0-9]+$', 'cache-1', false],
    ['^(?:ab){2}$', 'abab', true],
    ['^(?:ab){2}$', 'ab', false],
    ['^a{2,3}$', 'aaaa', false],
    ['^a{2,}$', 'aaaa', true],
    ['^a{0,2}b$', 'b', true],
    ['[^a-c]', 'abc', false],
    ['[]a]', ']', true],
    ['^[a-]+$', 'a-a', true],
    ['\\d\\d', 'x12', true],
    ['^\\w+$', 'web_1', true],
    ['^\\W', 'web', false],
    ['web\\.1', 'web.1', true],
    ['web\\.1', 'webx1', false],
    ['(?i)^WEB$', 'web', true],
    ['^$', '', true],
    ['x*', '', true],
    ['a{,2}', 'a{,2}', true], // not a repeat in Go: literal braces
    ['\\Aweb\\z', 'web', true],
  ])('%s against %j is %s', (pattern, input, expected) => {
    expect(goRegexpMatch(pattern, input)).toBe(expected);
  });

  it('refuses what Go refuses (or this subset lacks): such a pattern matches nothing', () => {
    for (const bad of ['(', ')', '[a', '*a', 'a**', 'a{3,2}', 'a{1001}', '\\b', '(?P<n>a)', '[[:alpha:]]', '\\']) {
      expect(compileGoRegexp(bad), bad).toBeNull();
      expect(goRegexpMatch(bad, bad)).toBe(false);
    }
  });

  it('stays linear on patterns that make backtracking engines explode', () => {
    const started = Date.now();
    expect(goRegexpMatch('^(a+)+$', `${'a'.repeat(5000)}!`)).toBe(false);
    expect(goRegexpMatch('(a|a)*b', 'a'.repeat(5000))).toBe(false);
    expect(goRegexpMatch('.*.*.*.*.*.*.*x', 'a'.repeat(2000))).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('bounds the program built from nested counted repeats', () => {
    expect(compileGoRegexp('((a{1000}){1000}){1000}')).toBeNull();
  });
});
