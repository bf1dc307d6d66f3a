import { goPathClean, goQuote, goTrimSpace, levenshtein, parseGoDuration, parseGoInt32, suggest } from './go-compat';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['5s', 5e9],
    ['1.5h', 5.4e12],
    ['1h30m', 5.4e12],
    ['300ms', 3e8],
    ['10us', 1e4],
    ['10µs', 1e4],
    ['7ns', 7],
    ['.5s', 5e8],
    ['1.s', 1e9],
    ['-2m', -1.2e11],
    ['+3s', 3e9],
  ])('%s is %d ns', (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['s', 'time: invalid duration "s"'],
    ['.s', 'time: invalid duration ".s"'],
    ['10', 'time: missing unit in duration "10"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['3000000h', 'time: invalid duration "3000000h"'],
  ])('refuses %j', (text, message) => {
    expect(() => parseGoDuration(text)).toThrow(message);
  });
});

describe('parseGoInt32', () => {
  it('parses signed decimal integers', () => {
    expect(parseGoInt32('42')).toBe(42);
    expect(parseGoInt32('-7')).toBe(-7);
    expect(parseGoInt32('+3')).toBe(3);
  });

  it('refuses other text and out-of-range values', () => {
    expect(() => parseGoInt32('0x10')).toThrow('strconv.ParseInt: parsing "0x10": invalid syntax');
    expect(() => parseGoInt32('2147483648')).toThrow('strconv.ParseInt: parsing "2147483648": value out of range');
  });
});

describe('goQuote', () => {
  it('quotes like %q', () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote('tab\there\n')).toBe('"tab\\there\\n"');
    expect(goQuote('\x01\x7f')).toBe('"\\x01\\x7f"');
    expect(goQuote('héllo ☃')).toBe('"héllo ☃"');
  });
});

describe('goPathClean', () => {
  it.each([
    ['', '.'],
    ['.', '.'],
    ['./a', 'a'],
    ['a//b/', 'a/b'],
    ['a/./b/../c', 'a/c'],
    ['../a', '../a'],
    ['/..', '/'],
    ['/a/../../b', '/b'],
    ['a/..', '.'],
  ])('%j → %j', (input, expected) => {
    expect(goPathClean(input)).toBe(expected);
  });
});

describe('goTrimSpace', () => {
  it('trims Unicode spaces but not the BOM', () => {
    expect(goTrimSpace('\u00a0\t x \u3000')).toBe('x');
    expect(goTrimSpace('\uFEFFx')).toBe('\uFEFFx');
  });
});

describe('suggest', () => {
  it('finds close options within two edits', () => {
    expect(levenshtein('chwon', 'chown')).toBe(2);
    expect(suggest('chwon', ['chown', 'chmod', 'from'], true)).toBe('chown');
    expect(suggest('FRM', ['FROM', 'RUN'], false)).toBe('FROM');
    expect(suggest('cmdd', ['CMD'], false)).toBe('cmd');
    expect(suggest('zzzzzz', ['FROM'], false)).toBeUndefined();
    expect(suggest('from', ['FROM'], false)).toBeUndefined();
  });
});

describe('parseGoDuration: cases carried over from image-import', () => {
  it.each([
    ['1ns', 1],
    ['1.5us', 1500],
    ['2\u03bcs', 2000],
    ['1h', 3.6e12],
  ])('%s is %d ns', (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });

  it('refuses a sign alone', () => {
    expect(() => parseGoDuration('-')).toThrow('time: invalid duration "-"');
  });
});
