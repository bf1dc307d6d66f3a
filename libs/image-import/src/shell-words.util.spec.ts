import { describe, expect, it } from 'vitest';
import { envLookupFrom, processWord, processWords, ShellWordError } from './shell-words.util';

const env = envLookupFrom(['PWD=/home', 'SHELL=bash', 'NULL=', 'FILE=archive.tar.gz', 'SPACED=abc  def']);

describe('processWord', () => {
  it.each([
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he\\'llo", "he'llo"],
    ['abc\\tdef', 'abctdef'],
    ['"abc\\tdef"', 'abc\\tdef'],
    ["'abc\\tdef'", 'abc\\tdef'],
    ['hello\\', 'hello'],
    ['hello\\\\', 'hello\\'],
    ['"hel\'lo"', "hel'lo"],
    ['$.', '$.'],
    ['he$1x', 'hex'],
    ['he$PWD', 'he/home'],
    ['he\\$PWD', 'he$PWD'],
    ['"he\\$PWD"', 'he$PWD'],
    ["'he\\$PWD'", 'he\\$PWD'],
    ['he${PWD}', 'he/home'],
    ['he${hi}xx', 'hexx'],
    ['he${XXX:-000}xx', 'he000xx'],
    ['he${PWD:-000}xx', 'he/homexx'],
    ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
    ['he${NULL-set}', 'he'],
    ['he${NULL:-empty}', 'heempty'],
    ['he${XXX:+000}xx', 'hexx'],
    ['he${PWD:+${SHELL}}xx', 'hebashxx'],
    ['he${NULL?}', 'he'],
    ["'he${XX}'", 'he${XX}'],
    ['"he\'$PWD\'"', "he'/home'"],
    ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
    ['${aaa:-bbb {foo}', 'bbb {foo'],
    ['${FILE%.*}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${FILE/a/A}', 'Archive.tar.gz'],
    ['${FILE//a/A}', 'Archive.tAr.gz'],
    ['안녕$SHELL', '안녕bash'],
  ])('%s → %s', (input, expected) => {
    expect(processWord(input, env)).toBe(expected);
  });

  it.each([
    ["he'llo", "unexpected end of statement while looking for matching single-quote"],
    ['"hello', 'unexpected end of statement while looking for matching double-quote'],
    ['he${}', 'syntax error: bad substitution'],
    ['he${XXX:YYY}', 'unsupported modifier (:Y) in substitution'],
    ['he${XXX?}', 'XXX: is not allowed to be unset'],
    ['he${NULL:?must be set}', 'NULL: must be set'],
    ['he${PWD:=000}', 'unsupported modifier (:=) in substitution'],
    ['${aaa:-bbb', "syntax error: missing '}'"],
  ])('refuses %s', (input, message) => {
    expect(() => processWord(input, env)).toThrow(ShellWordError);
    expect(() => processWord(input, env)).toThrow(`failed to process ${JSON.stringify(input)}: ${message}`);
  });

  it('uses the escape token it is given', () => {
    expect(processWord('a`$PWD\\x', env, '`')).toBe('a$PWD\\x');
  });
});

describe('processWords', () => {
  it.each([
    ['hello there', ['hello', 'there']],
    ['hello\\ there', ['hello there']],
    ['hello" there  "', ['hello there  ']],
    ['x${SPACED}y', ['xabc', 'defy']],
    ['x"${SPACED}"y', ['xabc  defy']],
    ['hello\\" there', ['hello"', 'there']],
  ])('%s → %j', (input, expected) => {
    expect(processWords(input, env)).toEqual(expected);
  });
});

describe('envLookupFrom', () => {
  it('lets a later entry win and treats a bare name as empty', () => {
    const lookup = envLookupFrom(['A=1', 'A=2', 'B']);
    expect(lookup('A')).toBe('2');
    expect(lookup('B')).toBe('');
    expect(lookup('C')).toBeUndefined();
  });
});
