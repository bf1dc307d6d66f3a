import { describe, expect, it } from 'vitest';
import { contentRangeStart, rangeFrom, uploadContentRange, uploadedBytes } from './content-range.util';

describe('uploadContentRange', () => {
  it('gives inclusive <start>-<end> without a unit', () => {
    expect(uploadContentRange(0, 1)).toBe('0-0');
    expect(uploadContentRange(0, 1024)).toBe('0-1023');
    expect(uploadContentRange(33554432, 10)).toBe('33554432-33554441');
  });

  it('refuses empty or negative chunks', () => {
    expect(() => uploadContentRange(0, 0)).toThrow(RangeError);
    expect(() => uploadContentRange(-1, 5)).toThrow(RangeError);
    expect(() => uploadContentRange(1.5, 5)).toThrow(RangeError);
  });
});

describe('uploadedBytes', () => {
  it('reads the Range of an upload answer', () => {
    expect(uploadedBytes('0-1023')).toBe(1024);
    expect(uploadedBytes('bytes=0-9')).toBe(10);
    expect(uploadedBytes(null)).toBeNull();
    expect(uploadedBytes('5-9')).toBeNull();
  });
});

describe('rangeFrom / contentRangeStart', () => {
  it('asks for the rest of a blob and reads where a 206 answer starts', () => {
    expect(rangeFrom(0)).toBe('bytes=0-');
    expect(rangeFrom(4096)).toBe('bytes=4096-');
    expect(() => rangeFrom(-1)).toThrow(RangeError);
    expect(contentRangeStart('bytes 4096-8191/8192')).toBe(4096);
    expect(contentRangeStart('bytes 0-0/*')).toBe(0);
    expect(contentRangeStart('4096-8191')).toBeNull();
    expect(contentRangeStart(null)).toBeNull();
  });
});
