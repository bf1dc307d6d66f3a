import { ExpansionError } from './errors';
import { expandHeredocContent, expandWord, expandWords } from './shell-lex';
import type { VariableLookup } from './shell-lex';

function env(vars: Record<string, string>): VariableLookup {
  return (name) => (Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined);
}

const HOME = env({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });

function expansionError(word: string, lookup: VariableLookup = HOME, escape = '\\'): ExpansionError {
  try {
    expandWord(word, lookup, escape);
  } catch (err) {
    expect(err).toBeInstanceOf(ExpansionError);
    return err as ExpansionError;
  }
  throw new Error(`expected ${word} to fail`);
}

describe('expandWord: quoting and escapes', () => {
  it.each([
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he\\'llo", "he'llo"],
    ['abc\\tdef', 'abctdef'],
    ['"abc\\tdef"', 'abc\\tdef'],
    ['"abc\\\\tdef"', 'abc\\tdef'],
    ["'abc\\tdef'", 'abc\\tdef'],
    ['hello\\', 'hello'],
    ['hello\\\\', 'hello\\'],
    ['"hel\'lo"', "hel'lo"],
    ["'hello\\'", 'hello\\'],
    ["'hello\\there'", 'hello\\there'],
    ["'hello\\\\there'", 'hello\\\\there'],
    ['"\'\'"', "''"],
    ["'\"hello\"'", '"hello"'],
    ['안\'녕\'하세요', '안녕하세요'],
    ['안녕\\t하세요', '안녕t하세요'],
  ])('%s → %s', (word, expected) => {
    expect(expandWord(word, HOME)).toBe(expected);
  });

  it.each(["he'llo", "he\\\\'llo", '"hello', '"hello\\"', "'hello", "안'녕하세요"])('%s has an unclosed quote', (word) => {
    expect(() => expandWord(word, HOME)).toThrow(ExpansionError);
  });

  it('reports unclosed quotes in Docker words', () => {
    expect(expansionError('"hello').message).toBe('failed to process "\\"hello": unexpected end of statement while looking for matching double-quote');
    expect(expansionError("'hello").message).toBe('failed to process "\'hello": unexpected end of statement while looking for matching single-quote');
  });
});

describe('expandWord: variables', () => {
  it.each([
    ['$.', '$.'],
    ['he$1x', 'hex'],
    ['he$.x', 'he$.x'],
    ['he$pwd.', 'he.'],
    ['he$PWD', 'he/home'],
    ['he\\$PWD', 'he$PWD'],
    ['he\\\\$PWD', 'he\\/home'],
    ['"he\\$PWD"', 'he$PWD'],
    ['"he\\\\$PWD"', 'he\\/home'],
    ['\\${}', '${}'],
    ['\\${}aaa', '${}aaa'],
    ['he\\${}xx', 'he${}xx'],
    ['he${hi}xx', 'hexx'],
    ['he${PWD}', 'he/home'],
    ["'he${XX}'", 'he${XX}'],
    ['"he${PWD}"', 'he/home'],
    ['"he\'$PWD\'"', "he'/home'"],
    ['"$PWD"', '/home'],
    ["'$PWD'", '$PWD'],
    ["'\\$PWD'", '\\$PWD'],
    ['$KOREAN', '한국어'],
    ['안녕$KOREAN', '안녕한국어'],
    ['${aaa}}', '}'],
  ])('%s → %s', (word, expected) => {
    expect(expandWord(word, HOME)).toBe(expected);
  });

  it.each([
    ['$1', ''],
    ['${999:-bbb}aaa', 'bbbaaa'],
    ['$999aaa', 'aaa'],
    ['${001:-bbb}', 'bbb'],
    ['$@@@', '@@'],
    ['${@:-bbb}aaa', 'bbbaaa'],
    ['$*', ''],
    ['${#:-bbb}', 'bbb'],
    ['$?', ''],
    ['${$:+bbb}', ''],
    ['$!', ''],
    ['${0:-bbb}', 'bbb'],
  ])('positional and special parameter %s is never set', (word, expected) => {
    expect(expandWord(word, HOME)).toBe(expected);
  });

  it('looks names up case-sensitively and treats empty values as set', () => {
    expect(expandWord('[$NULL][${NULL-x}][${NULL:-y}]', HOME)).toBe('[][][y]');
  });
});

describe('expandWord: modifiers', () => {
  it.each([
    ['he${XXX:-000}xx', 'he000xx'],
    ['he${PWD:-000}xx', 'he/homexx'],
    ['he${XXX:-$PWD}xx', 'he/homexx'],
    ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
    ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
    ['he${PWD?}', 'he/home'],
    ['he${PWD:?}', 'he/home'],
    ['he${NULL?}', 'he'],
    ['he${XXX:+${PWD}}xx', 'hexx'],
    ['he${PWD:+${XXX}}xx', 'hexx'],
    ['he${PWD:+${SHELL}}xx', 'hebashxx'],
    ['he${XXX:+000}xx', 'hexx'],
    ['he${PWD:+000}xx', 'he000xx'],
    ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
    ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
    ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
    ['${aaa:-bbb}}', 'bbb}'],
    ['${aaa:-${bbb:-ccc}}', 'ccc'],
    ['${aaa:-bbb {foo}', 'bbb {foo'],
  ])('%s → %s', (word, expected) => {
    expect(expandWord(word, HOME)).toBe(expected);
  });

  it('distinguishes unset from empty with and without the colon', () => {
    const vars = env({ FOO: 'xxx', BAR: '' });
    expect(expandWord('${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', vars)).toBe('xxx  ccc');
    expect(expandWord('${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', vars)).toBe('xxx bbb ccc');
    expect(expandWord('${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', vars)).toBe('aaa bbb ');
    expect(expandWord('${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', vars)).toBe('aaa  ');
    expect(expandWord('${BAR?bbb}', vars)).toBe('');
  });

  it('fails ${VAR?} and ${VAR:?} with the message, expanded', () => {
    const set = env({ VAR: 'plain', ARG: 'x' });
    const empty = env({ VAR: '', ARG: 'x' });
    const unset = env({ ARG: 'x' });
    expect(expandWord('${VAR:?message here$ARG}', set)).toBe('plain');
    expect(() => expandWord('${VAR:?message here$ARG}', empty)).toThrow('VAR: message herex');
    expect(() => expandWord('${VAR:?message here$ARG}', unset)).toThrow('VAR: message herex');
    expect(expandWord('${VAR?message here$ARG}', empty)).toBe('');
    expect(() => expandWord('${VAR?message here$ARG}', unset)).toThrow('VAR: message herex');
  });

  it('uses Docker default messages for ? without text', () => {
    expect(expansionError('${XXX?}').message).toBe('failed to process "${XXX?}": XXX: is not allowed to be unset');
    expect(expansionError('he${NULL:?}').message).toBe('failed to process "he${NULL:?}": NULL: is not allowed to be empty');
    expect(expansionError('${XXX:?}').detail).toBe('XXX: is not allowed to be unset');
  });

  it('trims prefixes and suffixes with shell patterns', () => {
    expect(expandWord('${FOO#*x*y}', env({ FOO: 'xxyy' }))).toBe('y');
    expect(expandWord('${FOO#*}', env({ FOO: 'xxyy' }))).toBe('xxyy');
    expect(expandWord('${FOO##*x}', env({ FOO: 'xxyy' }))).toBe('yy');
    expect(expandWord('${FOO#$BAR}', env({ FOO: 'xxyy', BAR: 'x' }))).toBe('xyy');
    expect(expandWord('${FOO#?\\?}', env({ FOO: '???y' }))).toBe('?y');
    expect(expandWord('${FOO%%\\**}', env({ FOO: 'xx**' }))).toBe('xx');
    expect(expandWord('${FOO%%\\**\\*}', env({ FOO: 'a***yy*' }))).toBe('a');
    expect(expandWord('${ABC:-.}${FOO%x}${ABC:-.}', env({ FOO: 'xxyy' }))).toBe('.xxyy.');
    expect(expandWord('${FOO#()[]{\\}^$.\\*\\?|\\\\}', env({ FOO: '()[]{}^$.*?|\\x' }))).toBe('x');
    expect(expandWord('${FILE%.*}.${FILE##*.}', env({ FILE: 'a.tar.gz' }))).toBe('a.tar.gz');
  });

  it('replaces patterns, first or all', () => {
    expect(expandWord('${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', env({ FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }))).toBe('/foo.*/*.txt - /foo..*.txt');
    expect(expandWord('${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', env({ FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }))).toBe('/tmp/bar.txt - /bar.txt');
    expect(expandWord('${FOO/$N/$R} - ${FOO//$N/$R}', env({ FOO: '/a/foo/b/c.txt', N: '/?/', R: '/' }))).toBe('/foo/b/c.txt - /foo/c.txt');
    expect(expandWord('${FOO/$N/$R}', env({ FOO: 'http://google.de', N: 'http://', R: 'https://' }))).toBe('https://google.de');
    expect(expandWord('${FOO//\\//\\/}', env({ FOO: '/tmp/foo.txt' }))).toBe('\\/tmp\\/foo.txt');
    expect(expandWord('${FOO/$BAR/ww}', env({ FOO: 'xxyy', BAR: '' }))).toBe('wwxxyy');
    expect(expandWord('${FOO///}', env({ FOO: 'xxyy' }))).toBe('xxyy');
    expect(expandWord('${FOO///}', env({}))).toBe('');
  });

  it.each([
    ['${}', 'syntax error: bad substitution'],
    ['he${}xx', 'syntax error: bad substitution'],
    ['${:}', 'syntax error: bad substitution'],
    ['${:-bbb}', 'syntax error: bad substitution'],
    ['${{aaa}', 'syntax error: bad substitution'],
    ['${aaa', 'unsupported modifier (\ufffd) in substitution'],
    ['${', "syntax error: missing '}'"],
    ['${aaa:-bbb', "syntax error: missing '}'"],
    ['${aaa:-bbb ${foo}', "syntax error: missing '}'"],
    ['he${.}', 'unsupported modifier (.) in substitution'],
    ['he${XXX:YYY}', 'unsupported modifier (:Y) in substitution'],
    ['he${PWD:=000}xx', 'unsupported modifier (:=) in substitution'],
    ['${FOO=aaa}', 'unsupported modifier (=) in substitution'],
    ['${FOO:#}', 'unsupported modifier (:#) in substitution'],
    ['${FOO:%%}', 'unsupported modifier (:%) in substitution'],
    ['${FOO//ww}', "syntax error: missing '/' in ${}"],
    ['${FOO#\\x}', "invalid pattern (\\x) in substitution: invalid escape '\\x'"],
  ])('%s fails: %s', (word, detail) => {
    const err = expansionError(word, env({ FOO: 'xxyy' }));
    expect(err.detail).toBe(detail);
    expect(err.message).toBe(`failed to process ${JSON.stringify(word)}: ${detail}`);
  });
});

describe('expandWord with the backtick escape', () => {
  it('escapes with ` and leaves backslashes literal', () => {
    expect(expandWord('C:\\path\\$NAME', env({ NAME: 'x' }), '`')).toBe('C:\\path\\x');
    expect(expandWord('`$NAME', env({ NAME: 'x' }), '`')).toBe('$NAME');
    expect(expandWord('"a`"b"', env({}), '`')).toBe('a"b');
  });

  it('refuses other escape characters', () => {
    expect(() => expandWord('x', env({}), '^')).toThrow("invalid escape token '^' does not match ` or \\");
  });
});

describe('expandWords', () => {
  const words = env({ hi: 'hi', space: 'abc  def', leading: '  ab c', trailing: 'ab c   ' });

  it.each([
    ['hello', ['hello']],
    ['hello${hi}bye', ['hellohibye']],
    ['hello${space}bye', ['helloabc', 'defbye']],
    ['hello"${space}"bye', ['helloabc  defbye']],
    ['hello "${space}"bye', ['hello', 'abc  defbye']],
    ['hello${leading}def', ['hello', 'ab', 'cdef']],
    ['hello"${leading}" def', ['hello  ab c', 'def']],
    ['hello${leading}', ['hello', 'ab', 'c']],
    ['hello${trailing}', ['helloab', 'c']],
    ['hello${trailing}d', ['helloab', 'c', 'd']],
    ['hello"${trailing}"d', ['helloab c   d']],
    ['hello" there  "', ['hello there  ']],
    ['hello there     ', ['hello', 'there']],
    ['hello\\ there', ['hello there']],
    ['hello\\" there', ['hello"', 'there']],
    ['hello"\\\\there"', ['hello\\there']],
    ["hello'\\\\there'", ['hello\\\\there']],
    ["hello'$there'", ['hello$there']],
  ])('%s → %j', (word, expected) => {
    expect(expandWords(word, words)).toEqual(expected);
  });

  it('splits EXPOSE-style variables into ports', () => {
    expect(expandWords('$PORTS', env({ PORTS: '80 443/tcp' }))).toEqual(['80', '443/tcp']);
  });

  it('drops empty quoted words', () => {
    expect(expandWords('a "" b', env({}))).toEqual(['a', 'b']);
  });

  it('reports unclosed quotes', () => {
    expect(() => expandWords('hello" there', words)).toThrow('unexpected end of statement while looking for matching double-quote');
  });
});

describe('expandHeredocContent', () => {
  it('substitutes variables but keeps quotes', () => {
    expect(expandHeredocContent('echo "$NAME" \'$NAME\'\n', env({ NAME: 'me' }))).toBe('echo "me" \'me\'\n');
  });

  it('honours backslash escapes of $', () => {
    expect(expandHeredocContent('cost: \\$5 for ${ITEM:-tea}\n', env({}))).toBe('cost: $5 for tea\n');
  });
});

describe('expandWord: cases carried over from image-import', () => {
  const vars = env({ PWD: '/home', SHELL: 'bash', NULL: '', FILE: 'archive.tar.gz' });

  it.each([
    ["'he\\$PWD'", 'he\\$PWD'],
    ['he${NULL-set}', 'he'],
    ['he${NULL:-empty}', 'heempty'],
    ['${FILE%.*}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${FILE/a/A}', 'Archive.tar.gz'],
    ['${FILE//a/A}', 'Archive.tAr.gz'],
    ['안녕$SHELL', '안녕bash'],
  ])('%s → %s', (word, expected) => {
    expect(expandWord(word, vars)).toBe(expected);
  });

  it('fails ${VAR:?text} on an empty value with the text', () => {
    expect(expansionError('he${NULL:?must be set}', vars).message).toBe('failed to process "he${NULL:?must be set}": NULL: must be set');
  });

  it('keeps backslashes literal and escapes with ` when that is the escape', () => {
    expect(expandWord('a`$PWD\\x', vars, '`')).toBe('a$PWD\\x');
  });
});
