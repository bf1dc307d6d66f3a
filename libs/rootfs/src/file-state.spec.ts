import { describe, expect, it } from 'vitest';
import { deviceNumbers } from './file-state';

describe('deviceNumbers', () => {
  it('decodes Linux device numbers', () => {
    expect(deviceNumbers(0x0103)).toEqual({ major: 1, minor: 3 }); // /dev/null
    expect(deviceNumbers(0x8801)).toEqual({ major: 136, minor: 1 });
    // major 259, minor 300 as makedev() encodes them
    const rdev = Number((300n & 0xffn) | ((259n & 0xfffn) << 8n) | ((300n & ~0xffn) << 12n));
    expect(deviceNumbers(rdev)).toEqual({ major: 259, minor: 300 });
  });
});
