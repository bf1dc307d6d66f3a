import { describe, expect, it } from 'vitest';
import { filterBool, globMatch, matchLabels, matchNoLabels, parseDockerFilters, parseTimestamp, pruneUntil } from './docker-filters.util';

describe('parseDockerFilters', () => {
  it('reads the map form the CLI sends and the legacy list form', () => {
    expect(parseDockerFilters('{"dangling":{"true":true},"label":{"a=b":true,"c":true}}', ['dangling', 'label'])).toEqual(
      new Map([
        ['dangling', ['true']],
        ['label', ['a=b', 'c']],
      ]),
    );
    expect(parseDockerFilters('{"reference":["busybox:*"]}', ['reference']).get('reference')).toEqual(['busybox:*']);
  });
  it("refuses unknown keys with dockerd's text", () => {
    expect(() => parseDockerFilters('{"colour":{"red":true}}', ['dangling'])).toThrow("invalid filter 'colour'");
  });
  it('refuses malformed JSON', () => {
    expect(() => parseDockerFilters('{nope', ['dangling'])).toThrow('invalid filter');
  });
});

describe('filterBool', () => {
  it('accepts true/false/1/0 and refuses anything else', () => {
    expect(filterBool(new Map([['dangling', ['true']]]), 'dangling', false)).toBe(true);
    expect(filterBool(new Map([['dangling', ['0']]]), 'dangling', true)).toBe(false);
    expect(filterBool(new Map(), 'dangling', false)).toBe(false);
    expect(() => filterBool(new Map([['dangling', ['maybe']]]), 'dangling', false)).toThrow("invalid filter 'dangling=maybe'");
  });
});

describe('matchLabels', () => {
  it('needs every key present and every value equal', () => {
    expect(matchLabels(['a'], { a: '1' })).toBe(true);
    expect(matchLabels(['a=1', 'b'], { a: '1', b: '' })).toBe(true);
    expect(matchLabels(['a=2'], { a: '1' })).toBe(false);
    expect(matchLabels(['a'], null)).toBe(false);
  });
});

describe('matchNoLabels (prune label!=)', () => {
  it('keeps only what carries every unwanted pair, as dockerd prunes', () => {
    expect(matchNoLabels([], { a: '1' })).toBe(true);
    expect(matchNoLabels(['a=1'], { a: '1' })).toBe(false);
    expect(matchNoLabels(['a=1'], { a: '2' })).toBe(true);
    expect(matchNoLabels(['a=1', 'b=2'], { a: '1' })).toBe(true);
    expect(matchNoLabels(['a=1', 'b=2'], { a: '1', b: '2' })).toBe(false);
    expect(matchNoLabels(['a'], null)).toBe(true);
  });
});

describe('pruneUntil', () => {
  it('takes at most one until, as dockerd', () => {
    expect(pruneUntil(new Map())).toBeUndefined();
    expect(pruneUntil(new Map([['until', ['1700000000']]]))).toBe(1_700_000_000_000);
    expect(() => pruneUntil(new Map([['until', ['1h', '2h']]]))).toThrow('more than one until filter specified');
  });
});

describe('globMatch (Go path.Match)', () => {
  it('does not let * cross a slash', () => {
    expect(globMatch('*:latest', 'busybox:latest')).toBe(true);
    expect(globMatch('*:latest', 'library/busybox:latest')).toBe(false);
    expect(globMatch('*/*:latest', 'library/busybox:latest')).toBe(true);
    expect(globMatch('busy?ox', 'busybox')).toBe(true);
    expect(globMatch('[a-c]*', 'busybox')).toBe(true);
    expect(globMatch('[^a-c]*', 'busybox')).toBe(false);
  });
});

describe('parseTimestamp', () => {
  const now = Date.parse('2026-01-02T00:00:00Z');
  it('reads Go durations back from now', () => {
    expect(parseTimestamp('24h', now)).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(parseTimestamp('1h30m', now)).toBe(now - 90 * 60_000);
  });
  it('reads Unix timestamps and RFC 3339 dates', () => {
    expect(parseTimestamp('1700000000', now)).toBe(1_700_000_000_000);
    expect(parseTimestamp('2025-06-01', now)).toBe(Date.parse('2025-06-01T00:00:00Z'));
    expect(parseTimestamp('2025-06-01T10:00:00+02:00', now)).toBe(Date.parse('2025-06-01T08:00:00Z'));
  });
  it('refuses anything else', () => {
    expect(() => parseTimestamp('yesterday', now)).toThrow('failed to parse value as time or duration');
  });
});
