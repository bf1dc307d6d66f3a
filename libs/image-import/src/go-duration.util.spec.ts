import { describe, expect, it } from 'vitest';
import { DurationError, parseGoDuration } from './go-duration.util';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['1ns', 1],
    ['1.5us', 1500],
    ['2µs', 2000],
    ['300ms', 300e6],
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1h', 3600e9],
    ['.5s', 0.5e9],
    ['1.s', 1e9],
    ['-2m', -120e9],
    ['+5s', 5e9],
  ])('%s → %d ns', (input, ns) => {
    expect(parseGoDuration(input)).toBe(ns);
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['5', 'time: missing unit in duration "5"'],
    ['5d', 'time: unknown unit "d" in duration "5d"'],
    ['.s', 'time: invalid duration ".s"'],
    ['s', 'time: invalid duration "s"'],
    ['-', 'time: invalid duration "-"'],
  ])('refuses %j', (input, message) => {
    expect(() => parseGoDuration(input)).toThrow(DurationError);
    expect(() => parseGoDuration(input)).toThrow(message);
  });
});
