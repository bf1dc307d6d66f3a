import { describe, expect, it } from 'vitest';
import { escapeDumpText, formatXattrDump, parseXattrDump, unescapeDumpText } from './xattr-dump';

describe('getfattr dump format', () => {
  it('parses paths with octal escapes and values in every encoding', () => {
    const text = [
      '# file: /tmp/up/we ird\\012name\\134x',
      'trusted.overlay.opaque=0x79',
      'user.text="a\\040b"',
      'user.b64=0sAAE=',
      'user.empty',
      '',
      '# file: /tmp/up/café',
      'security.capability=0x0100000200200000',
      '',
    ].join('\n');
    const dump = parseXattrDump(text);
    expect([...dump.keys()]).toEqual(['/tmp/up/we ird\nname\\x', '/tmp/up/café']);
    const first = dump.get('/tmp/up/we ird\nname\\x')!;
    expect(first.get('trusted.overlay.opaque')).toEqual(Buffer.from('y'));
    expect(first.get('user.text')).toEqual(Buffer.from('a b'));
    expect(first.get('user.b64')).toEqual(Buffer.from([0, 1]));
    expect(first.get('user.empty')).toEqual(Buffer.alloc(0));
    expect(dump.get('/tmp/up/café')!.get('security.capability')).toEqual(Buffer.from('0100000200200000', 'hex'));
  });

  it('escapes what setfattr --restore unescapes, including non-ASCII bytes', () => {
    const path = '/r/a b\n\\=é';
    const escaped = escapeDumpText(path);
    expect(escaped).toBe('/r/a\\040b\\012\\134\\075\\303\\251');
    expect(unescapeDumpText(escaped)).toBe(path);
  });

  it('formats a restore file that parses back to the same attributes', () => {
    const dump = new Map([['/r/x y', new Map([['security.capability', Buffer.from([1, 0, 0, 2, 0x80, 0xff])]])]]);
    const text = formatXattrDump(dump);
    expect(text).toBe('# file: /r/x\\040y\nsecurity.capability=0x0100000280ff\n\n');
    expect(parseXattrDump(text)).toEqual(dump);
  });
});
