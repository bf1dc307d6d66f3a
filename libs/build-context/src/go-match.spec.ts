import { compileComponent, containsWildcards, goMatch } from './go-match';

describe('containsWildcards (moby)', () => {
  it.each([
    ['*.txt', true],
    ['a?c', true],
    ['[ab]', true],
    ['dir/sub/file', false],
    ['escaped\\*star', false],
    ['escaped\\[x', false],
    ['mixed\\*and*', true],
  ])('%s → %s', (pattern, expected) => {
    expect(containsWildcards(pattern)).toBe(expected);
  });
});

describe('goMatch (Go filepath.Match)', () => {
  it.each([
    ['*.txt', 'a.txt', true],
    ['*.txt', '.hidden.txt', true],
    ['*.txt', 'a.txt.bak', false],
    ['*', 'dir/file', false],
    ['*/file', 'dir/file', true],
    ['src/*.js', 'src/a.js', true],
    ['src/*.js', 'src/sub/a.js', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a?c', 'a/c', false],
    ['[abc]x', 'bx', true],
    ['[abc]x', 'dx', false],
    ['[^abc]x', 'dx', true],
    ['[^abc]x', 'ax', false],
    ['[a-c]', 'b', true],
    ['[a-c]', 'd', false],
    ['[!a]', '!', true],
    ['[!a]', 'b', false],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['[\\]]', ']', true],
    ['[\\-]', '-', true],
    ['[z-a]', 'm', false],
    ['ü*', 'über', true],
    ['?', 'ü', true],
    ['[]a]', ']', false],
    ['[a-]', 'a', false],
    ['[', '[', false],
    ['abc\\', 'abc', false],
  ])('Match(%j, %j) = %s', (pattern, name, expected) => {
    expect(goMatch(pattern, name)).toBe(expected);
  });

  it('reports malformed patterns as uncompilable, as ErrBadPattern', () => {
    expect(compileComponent('[]a]')).toBeNull();
    expect(compileComponent('[a')).toBeNull();
    expect(compileComponent('x\\')).toBeNull();
    expect(compileComponent('[a-]')).toBeNull();
    expect(compileComponent('[a\\-z]')).not.toBeNull();
  });
});
