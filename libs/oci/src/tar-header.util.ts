/** The 512-byte tar block size. */
export const BLOCK_SIZE = 512;

export interface TarHeaderFields {
  name: string;
  type: 'file' | 'directory';
  size: number;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
}

// Largest size an 11-digit octal field holds; larger sizes use the base-256 (GNU) encoding.
const MAX_OCTAL_SIZE = 0o77777777777;

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'ascii');
  block[offset + length - 1] = 0;
}

function writeBase256(block: Buffer, offset: number, length: number, value: number): void {
  let rest = value;
  for (let i = offset + length - 1; i > offset; i--) {
    block[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  block[offset] = 0x80;
}

/** A ustar header, as Go's archive/tar writes it for short names (what `docker save` emits). */
export function encodeTarHeader(fields: TarHeaderFields): Buffer {
  const name = fields.type === 'directory' && !fields.name.endsWith('/') ? `${fields.name}/` : fields.name;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long for a ustar header: ${name}`);
  const block = Buffer.alloc(BLOCK_SIZE);
  block.write(name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  if (fields.size > MAX_OCTAL_SIZE) writeBase256(block, 124, 12, fields.size);
  else writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156);
  block.write(fields.type === 'directory' ? '5' : '0', 156, 1, 'ascii');
  block.write('ustar\u000000', 257, 8, 'ascii');
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

/** Zero bytes that complete a member of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK_SIZE;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK_SIZE - rest);
}

/** Two zero blocks end a tar archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK_SIZE);
