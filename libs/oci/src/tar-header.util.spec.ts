import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, END_OF_ARCHIVE, encodeTarHeader, paxRecord, tarPadding } from './tar-header.util';
import type { TarEntryHeader } from './tar-header.util';

interface Decoded {
  header: tar.Header;
  content: Buffer;
}

async function decode(bytes: Buffer): Promise<Decoded[]> {
  const extract = tar.extract();
  const out: Decoded[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
      out.push({ header: entry.header, content: Buffer.concat(chunks) });
    }
  })();
  extract.end(bytes);
  await reading;
  return out;
}

function archive(header: TarEntryHeader, content = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeTarHeader(header), content, tarPadding(content.length), END_OF_ARCHIVE]);
}

const base: TarEntryHeader = { name: 'etc/hosts', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, mtime: 1_700_000_000 };

function checksumOk(block: Buffer): boolean {
  const copy = Buffer.from(block);
  copy.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of copy) sum += byte;
  return parseInt(block.subarray(148, 154).toString('ascii'), 8) === sum;
}

describe('encodeTarHeader', () => {
  it('writes one ustar block with Go-style fields when everything fits', async () => {
    const block = encodeTarHeader(base);
    expect(block.length).toBe(BLOCK_SIZE);
    expect(block.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    expect(block.subarray(100, 108).toString('latin1')).toBe('0000644\u0000');
    expect(block.subarray(124, 136).toString('latin1')).toBe('00000000005\u0000');
    expect(block.subarray(265, 329).every((byte) => byte === 0)).toBe(true); // empty uname and gname
    expect(checksumOk(block)).toBe(true);
    const [entry] = await decode(archive(base, Buffer.from('hello')));
    expect(entry.header).toMatchObject({ name: 'etc/hosts', type: 'file', mode: 0o644, size: 5, uid: 0, gid: 0, pax: null });
    expect(entry.header.mtime.getTime()).toBe(1_700_000_000_000);
    expect(entry.content.toString()).toBe('hello');
  });

  it('keeps setuid, setgid and sticky bits and ends directory names with a slash', async () => {
    const [dir] = await decode(archive({ ...base, name: 'tmp', type: 'directory', mode: 0o1777, size: 0 }));
    expect(dir.header).toMatchObject({ name: 'tmp/', type: 'directory', mode: 0o1777 });
    const [suid] = await decode(archive({ ...base, name: 'bin/su', mode: 0o4755, size: 0 }));
    expect(suid.header.mode).toBe(0o4755);
  });

  it('writes symlinks, hardlinks, devices and fifos', async () => {
    const entries = await decode(
      Buffer.concat([
        encodeTarHeader({ ...base, name: 'bin/sh', type: 'symlink', linkname: 'busybox', mode: 0o777, size: 0 }),
        encodeTarHeader({ ...base, name: 'bin/ls', type: 'hardlink', linkname: 'bin/busybox', size: 0 }),
        encodeTarHeader({ ...base, name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, size: 0 }),
        encodeTarHeader({ ...base, name: 'run/fifo', type: 'fifo', size: 0 }),
        END_OF_ARCHIVE,
      ]),
    );
    expect(entries.map((e) => [e.header.name, e.header.type, e.header.linkname])).toEqual([
      ['bin/sh', 'symlink', 'busybox'],
      ['bin/ls', 'link', 'bin/busybox'],
      ['dev/null', 'character-device', null],
      ['run/fifo', 'fifo', null],
    ]);
    expect(entries[2].header).toMatchObject({ devmajor: 1, devminor: 3 });
  });

  it('adds a PAX header for long and non-ASCII names and link targets only', async () => {
    const long = `${'d'.repeat(60)}/${'f'.repeat(60)}`;
    const encoded = encodeTarHeader({ ...base, name: long, size: 0 });
    expect(encoded.length).toBe(3 * BLOCK_SIZE);
    expect(String.fromCharCode(encoded[156])).toBe('x');
    expect(checksumOk(encoded.subarray(0, BLOCK_SIZE))).toBe(true);
    expect(checksumOk(encoded.subarray(2 * BLOCK_SIZE))).toBe(true);
    const [entry] = await decode(Buffer.concat([encoded, END_OF_ARCHIVE]));
    expect(entry.header.name).toBe(long);
    expect(entry.header.pax).toEqual({ path: long });

    const [unicode] = await decode(archive({ ...base, name: 'usr/share/café', type: 'symlink', linkname: 'naïve', size: 0 }));
    expect(unicode.header).toMatchObject({ name: 'usr/share/café', linkname: 'naïve' });
    expect(unicode.header.pax).toEqual({ path: 'usr/share/café', linkpath: 'naïve' });

    // 100 ASCII bytes still fit the name field.
    expect(encodeTarHeader({ ...base, name: 'n'.repeat(100), size: 0 }).length).toBe(BLOCK_SIZE);
  });

  it('puts ids above 2097151 and out-of-range mtimes into PAX records', () => {
    const encoded = encodeTarHeader({ ...base, uid: 100_000_000, gid: 3, mtime: -5, size: 0 });
    const records = encoded.subarray(BLOCK_SIZE, BLOCK_SIZE + parseInt(encoded.subarray(124, 135).toString('ascii'), 8)).toString('utf8');
    expect(records).toBe('12 mtime=-5\n17 uid=100000000\n');
    const main = encoded.subarray(encoded.length - BLOCK_SIZE);
    expect(main.subarray(108, 116).toString('latin1')).toBe('0000000\u0000');
    expect(main.subarray(116, 124).toString('latin1')).toBe('0000003\u0000');
  });

  it('writes xattr values as raw bytes, records sorted by key', () => {
    const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const xattrs = new Map([
      ['user.b', Buffer.from('2')],
      ['security.capability', capability],
    ]);
    const encoded = encodeTarHeader({ ...base, xattrs });
    const size = parseInt(encoded.subarray(124, 135).toString('ascii'), 8);
    const data = encoded.subarray(BLOCK_SIZE, BLOCK_SIZE + size);
    expect(data).toEqual(Buffer.concat([paxRecord('SCHILY.xattr.security.capability', capability), paxRecord('SCHILY.xattr.user.b', '2')]));
    expect(data.includes(capability)).toBe(true);
  });

  it('is deterministic', () => {
    const header: TarEntryHeader = { ...base, name: `${'x'.repeat(120)}/é`, uid: 3_000_000 };
    expect(encodeTarHeader(header)).toEqual(encodeTarHeader({ ...header }));
  });
});

describe('paxRecord', () => {
  it.each([
    ['k', 'v', '6 k=v\n'],
    ['path', 'ab', '11 path=ab\n'],
    ['a', 'x'.repeat(93), `99 a=${'x'.repeat(93)}\n`],
    // 98 bytes of body plus two digits would be 100, whose third digit makes it 101.
    ['a', 'x'.repeat(94), `101 a=${'x'.repeat(94)}\n`],
  ])('counts its own length: %s', (key, value, expected) => {
    const record = paxRecord(key, value).toString('utf8');
    expect(record).toBe(expected);
    expect(Buffer.byteLength(record)).toBe(parseInt(record, 10));
  });
});
