import { createIgnoreMatcher, parseDockerignore } from './dockerignore';
import { DockerignoreError } from './errors';

function ignores(patterns: string[], path: string): boolean {
  return createIgnoreMatcher(patterns).ignores(path);
}

describe('parseDockerignore', () => {
  it('reads patterns as moby ignorefile does', () => {
    const text = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    expect(parseDockerignore(text)).toEqual(['test1', 'test2', 'a/file/here', 'lastfile', '!inverted/abs/path', '!', '!']);
  });

  it('cleans paths and trims whitespace', () => {
    expect(parseDockerignore('  ./node_modules/  \n*.log\r\nfoo//bar/../baz\n/\n./\n')).toEqual(['node_modules', '*.log', 'foo/baz', '/', '.']);
  });

  it('treats # as a comment only at the start of the line', () => {
    expect(parseDockerignore('#comment\n #not-a-comment\nfile#1')).toEqual(['#not-a-comment', 'file#1']);
  });

  it('strips a byte order mark', () => {
    expect(parseDockerignore('\uFEFFsecret.txt')).toEqual(['secret.txt']);
  });

  it('returns nothing for an empty file', () => {
    expect(parseDockerignore('')).toEqual([]);
    expect(parseDockerignore('\n\n# only comments\n')).toEqual([]);
  });
});

describe('createIgnoreMatcher: single patterns', () => {
  // moby/patternmatcher's own table (MatchesOrParentMatches semantics).
  it.each([
    ['**', 'file', true],
    ['**', 'file/', true],
    ['**/', 'file', true],
    ['**/', 'file/', true],
    ['**', '/', true],
    ['**/', '/', true],
    ['**', 'dir/file', true],
    ['**/', 'dir/file', true],
    ['**', 'dir/file/', true],
    ['**/', 'dir/file/', true],
    ['**/**', 'dir/file', true],
    ['**/**', 'dir/file/', true],
    ['dir/**', 'dir/file', true],
    ['dir/**', 'dir/file/', true],
    ['dir/**', 'dir/dir2/file', true],
    ['dir/**', 'dir/dir2/file/', true],
    ['**/dir', 'dir', true],
    ['**/dir', 'dir/file', true],
    ['**/dir2/*', 'dir/dir2/file', true],
    ['**/dir2/*', 'dir/dir2/file/', true],
    ['**/dir2/**', 'dir/dir2/dir3/file', true],
    ['**/dir2/**', 'dir/dir2/dir3/file/', true],
    ['**file', 'file', true],
    ['**file', 'dir/file', true],
    ['**/file', 'dir/file', true],
    ['**file', 'dir/dir/file', true],
    ['**/file', 'dir/dir/file', true],
    ['**/file*', 'dir/dir/file', true],
    ['**/file*', 'dir/dir/file.txt', true],
    ['**/file*txt', 'dir/dir/file.txt', true],
    ['**/file*.txt', 'dir/dir/file.txt', true],
    ['**/file*.txt*', 'dir/dir/file.txt', true],
    ['**/**/*.txt', 'dir/dir/file.txt', true],
    ['**/**/*.txt2', 'dir/dir/file.txt', false],
    ['**/*.txt', 'file.txt', true],
    ['**/**/*.txt', 'file.txt', true],
    ['a**/*.txt', 'a/file.txt', true],
    ['a**/*.txt', 'a/dir/file.txt', true],
    ['a**/*.txt', 'a/dir/dir/file.txt', true],
    ['a/*.txt', 'a/dir/file.txt', false],
    ['a/*.txt', 'a/file.txt', true],
    ['a/*.txt**', 'a/file.txt', true],
    ['a[b-d]e', 'ae', false],
    ['a[b-d]e', 'ace', true],
    ['a[b-d]e', 'aae', false],
    ['a[^b-d]e', 'aze', true],
    ['.*', '.foo', true],
    ['.*', 'foo', false],
    ['abc.def', 'abcdef', false],
    ['abc.def', 'abc.def', true],
    ['abc.def', 'abcZdef', false],
    ['abc?def', 'abcZdef', true],
    ['abc?def', 'abcdef', false],
    ['a\\\\', 'a\\', true],
    ['**/foo/bar', 'foo/bar', true],
    ['**/foo/bar', 'dir/foo/bar', true],
    ['**/foo/bar', 'dir/dir2/foo/bar', true],
    ['abc/**', 'abc', false],
    ['abc/**', 'abc/def', true],
    ['abc/**', 'abc/def/ghi', true],
    ['**/.foo', '.foo', true],
    ['**/.foo', 'bar.foo', false],
    ['a(b)c/def', 'a(b)c/def', true],
    ['a(b)c/def', 'a(b)c/xyz', false],
    ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
    ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
    ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
    ['a\\*b', 'a*b', true],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(ignores([pattern], path)).toBe(expected);
  });

  // Go filepath.Match cases as patternmatcher runs them.
  it.each([
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*', 'ab/c', true],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['a[^a][^a][^a]b', 'a☺b', false],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', 'x', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true],
    ['[\\-x]', '-', true],
    ['[\\-x]', 'a', false],
    ['*x', 'xxx', true],
  ])('glob %s on %s: %s', (pattern, path, expected) => {
    expect(ignores([pattern], path)).toBe(expected);
  });

  it.each(['[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-b-c]', '[', '[^', '[^bc', 'a[', '[z-a]'])('refuses the malformed pattern %s', (pattern) => {
    expect(() => createIgnoreMatcher([pattern])).toThrow(new DockerignoreError('syntax error in pattern', pattern));
  });

  it('treats a ] outside a class literally', () => {
    expect(ignores(['a]b'], 'a]b')).toBe(true);
  });
});

describe('createIgnoreMatcher: several patterns', () => {
  it.each([
    [['*'], 'fileutils.go', true],
    [['*.go'], 'fileutils.go', true],
    [['!fileutils.go', '*.go'], 'fileutils.go', true],
    [['*.go', '!fileutils.go'], 'fileutils.go', false],
    [['docs', '!docs/README.md'], 'docs/README.md', false],
    [['docs/', '!docs/README.md'], 'docs/README.md', false],
    [['docs/*', '!docs/README.md'], 'docs/README.md', false],
    [['docs', '!docs/README.md'], 'docs/other.md', true],
    [['**', '!util/docker/web'], 'util/docker/web/foo', false],
    [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', true],
    [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
    [[], 'any/path/there', false],
  ])('%j on %s: %s', (patterns, path, expected) => {
    expect(ignores(patterns, path)).toBe(expected);
  });

  it('lets the last matching pattern win', () => {
    const m = createIgnoreMatcher(['*.md', '!README.md', 'README.md']);
    expect(m.ignores('README.md')).toBe(true);
    expect(m.ignores('CHANGELOG.md')).toBe(true);
    expect(m.ignores('main.go')).toBe(false);
  });

  it('excludes everything under an excluded directory', () => {
    const m = createIgnoreMatcher(['node_modules', '.git']);
    expect(m.ignores('node_modules')).toBe(true);
    expect(m.ignores('node_modules/a/b/c.js')).toBe(true);
    expect(m.ignores('src/node_modules/x')).toBe(false);
    expect(m.ignores('.github/workflows/ci.yml')).toBe(false);
  });

  it('matches **/name at any depth', () => {
    const m = createIgnoreMatcher(['**/*.pyc', '**/__pycache__']);
    expect(m.ignores('a.pyc')).toBe(true);
    expect(m.ignores('pkg/sub/a.pyc')).toBe(true);
    expect(m.ignores('pkg/__pycache__/a.cpython.pyc')).toBe(true);
    expect(m.ignores('pkg/a.py')).toBe(false);
  });

  it('never excludes the context root', () => {
    expect(ignores(['*'], '.')).toBe(false);
    expect(ignores(['**'], '')).toBe(false);
  });

  it('cleans the path it is given', () => {
    expect(ignores(['a/b'], './a//b/')).toBe(true);
    expect(ignores(['a/b'], '/a/b')).toBe(true);
  });

  it('accepts patterns as written in the file (trimming, cleaning, leading slash)', () => {
    expect(ignores(['  ./build/  '], 'build/out')).toBe(true);
    expect(ignores(['/secret'], 'secret')).toBe(true);
  });

  it('refuses a lone !', () => {
    expect(() => createIgnoreMatcher(['!'])).toThrow('illegal exclusion pattern: "!"');
    expect(() => createIgnoreMatcher(parseDockerignore('!\n'))).toThrow(DockerignoreError);
  });

  it('matches the Dockerfile and .dockerignore too: keeping them is the caller’s job', () => {
    const m = createIgnoreMatcher(parseDockerignore('*\n'));
    expect(m.ignores('Dockerfile')).toBe(true);
    expect(m.ignores('.dockerignore')).toBe(true);
  });
});

describe('mayContainExceptions', () => {
  it('is false without exceptions', () => {
    expect(createIgnoreMatcher(['docs']).mayContainExceptions('docs')).toBe(false);
  });

  it('is true when an exception names a path inside the directory', () => {
    const m = createIgnoreMatcher(['docs', '!docs/README.md', 'vendor', '!vendor/keep/*.go']);
    expect(m.mayContainExceptions('docs')).toBe(true);
    expect(m.mayContainExceptions('vendor')).toBe(true);
    expect(m.mayContainExceptions('vendor/keep')).toBe(true);
    expect(m.mayContainExceptions('vendor/other')).toBe(false);
    expect(m.mayContainExceptions('doc')).toBe(false);
  });

  it('is true for the directory an exception names itself', () => {
    expect(createIgnoreMatcher(['**', '!util/docker/web']).mayContainExceptions('util/docker/web')).toBe(true);
  });

  it('follows dockerd in not reopening directories for exceptions with leading wildcards', () => {
    const m = createIgnoreMatcher(['*', '!**/*.go']);
    expect(m.ignores('src')).toBe(true);
    expect(m.ignores('src/main.go')).toBe(false);
    expect(m.mayContainExceptions('src')).toBe(false);
  });

  it('walks a directory and keeps the exception inside it', () => {
    const m = createIgnoreMatcher(parseDockerignore('logs\n!logs/keep.log\n'));
    expect(m.ignores('logs')).toBe(true);
    expect(m.mayContainExceptions('logs')).toBe(true);
    expect(m.ignores('logs/keep.log')).toBe(false);
    expect(m.ignores('logs/other.log')).toBe(true);
  });
});
