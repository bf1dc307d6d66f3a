import { detectCompression } from './compression.util';

describe('detectCompression', () => {
  it('recognises compressions by magic number', () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0]))).toBe('gzip');
    expect(detectCompression(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe('xz');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe('zstd');
    expect(detectCompression(Buffer.from('plain'))).toBe('none');
  });
});
