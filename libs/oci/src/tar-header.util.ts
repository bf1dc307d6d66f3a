/** The 512-byte tar block. */
export const BLOCK_SIZE = 512;
/** Two zero blocks end a tar archive (Go's archive/tar writes no further padding). */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK_SIZE);

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarEntryHeader {
  /** Root-relative path; a directory's name is given without its trailing slash. */
  name: string;
  type: TarEntryType;
  /** Permission bits with setuid, setgid and sticky (no file type bits), as Go writes them. */
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes; only regular files carry content. */
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records. */
  xattrs?: ReadonlyMap<string, Buffer>;
}

const TYPE_FLAGS: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;
const NAME_LENGTH = 100;

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Go's rule: a string goes into a ustar field only when it is ASCII and fits. */
function fitsField(text: string, length: number): boolean {
  return isAscii(text) && text.length <= length;
}

/** What a ustar field can show of a string that needs a PAX record: its ASCII characters, cut to fit. */
function fieldFallback(text: string, length: number): string {
  let ascii = '';
  for (const char of text) if (char.charCodeAt(0) <= 0x7f) ascii += char;
  return ascii.slice(0, length);
}

function writeString(block: Buffer, offset: number, length: number, text: string): void {
  block.write(text, offset, length, 'ascii');
}

/** Zero-padded octal, NUL-terminated, as Go's formatOctal. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'ascii');
  block[offset + length - 1] = 0;
}

/** GNU base-256 for numbers no octal field holds (device numbers only: sizes and ids use PAX). */
function writeBase256(block: Buffer, offset: number, length: number, value: number): void {
  let rest = value;
  for (let i = offset + length - 1; i > offset; i--) {
    block[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  block[offset] = 0x80;
}

function writeNumber(block: Buffer, offset: number, length: number, value: number): void {
  if (value <= (length === 12 ? MAX_OCTAL_11 : MAX_OCTAL_7)) writeOctal(block, offset, length, value);
  else writeBase256(block, offset, length, value);
}

function writeChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  block[154] = 0;
  block[155] = 0x20;
}

interface UstarFields {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** One POSIX ustar header block (magic "ustar\0", version "00"; empty uname and gname). */
function ustarBlock(fields: UstarFields): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  writeString(block, 0, NAME_LENGTH, fields.name);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, fields.uid);
  writeOctal(block, 116, 8, fields.gid);
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.write(fields.typeflag, 156, 1, 'ascii');
  writeString(block, 157, NAME_LENGTH, fields.linkname);
  block.write('ustar\u000000', 257, 8, 'ascii');
  writeNumber(block, 329, 8, fields.devmajor);
  writeNumber(block, 337, 8, fields.devminor);
  writeChecksum(block);
  return block;
}

/** One `<length> <key>=<value>\n` record, whose length counts its own digits. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), typeof value === 'string' ? Buffer.from(value, 'utf8') : value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length), 'ascii'), body]);
}

/** Zero bytes that complete `size` bytes of content to whole blocks. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK_SIZE;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK_SIZE - rest);
}

/** Name of the extended header that precedes `name`, as Go names it: `dir/PaxHeaders.0/base`. */
function paxHeaderName(name: string): string {
  const at = name.lastIndexOf('/');
  const dir = at < 0 ? '' : name.slice(0, at + 1);
  return fieldFallback(`${dir}PaxHeaders.0/${name.slice(at + 1)}`, NAME_LENGTH);
}

/**
 * The header blocks of one entry: a ustar block, preceded by a PAX extended header only when a
 * value does not fit ustar (a long or non-ASCII name or link target, an id above 2097151, a size
 * of 8 GiB or more, an mtime out of the octal range) or when the entry carries xattrs. Records are
 * sorted by key, so equal entries always encode to equal bytes.
 */
export function encodeTarHeader(header: TarEntryHeader): Buffer {
  const name = header.type === 'directory' ? `${header.name}/` : header.name;
  const linkname = header.linkname ?? '';
  const records = new Map<string, Buffer | string>();
  if (!fitsField(name, NAME_LENGTH)) records.set('path', name);
  if (!fitsField(linkname, NAME_LENGTH)) records.set('linkpath', linkname);
  if (header.uid > MAX_OCTAL_7) records.set('uid', String(header.uid));
  if (header.gid > MAX_OCTAL_7) records.set('gid', String(header.gid));
  if (header.size > MAX_OCTAL_11) records.set('size', String(header.size));
  const mtimeFits = header.mtime >= 0 && header.mtime <= MAX_OCTAL_11;
  if (!mtimeFits) records.set('mtime', String(header.mtime));
  for (const [key, value] of header.xattrs ?? []) records.set(`SCHILY.xattr.${key}`, value);

  const main = ustarBlock({
    name: records.has('path') ? fieldFallback(name, NAME_LENGTH) : name,
    typeflag: TYPE_FLAGS[header.type],
    mode: header.mode & 0o7777,
    uid: header.uid > MAX_OCTAL_7 ? 0 : header.uid,
    gid: header.gid > MAX_OCTAL_7 ? 0 : header.gid,
    size: header.size > MAX_OCTAL_11 ? 0 : header.size,
    mtime: mtimeFits ? header.mtime : 0,
    linkname: records.has('linkpath') ? fieldFallback(linkname, NAME_LENGTH) : linkname,
    devmajor: header.devmajor ?? 0,
    devminor: header.devminor ?? 0,
  });
  if (records.size === 0) return main;

  const keys = [...records.keys()].sort();
  const data = Buffer.concat(keys.map((key) => paxRecord(key, records.get(key) ?? '')));
  const extended = ustarBlock({
    name: paxHeaderName(name),
    typeflag: 'x',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([extended, data, tarPadding(data.length), main]);
}
