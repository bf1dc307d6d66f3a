import { parseGroup, parsePasswd, resolveUserSpec } from './user';

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  '  app:x:1000:1000:App:/home/app:/bin/sh  ',
  '',
  'dup:x:1000:2000::/dup:/bin/sh',
  'broken:x:abc:7::/broken:',
  'short:x:3',
].join('\n');
const group = ['root:x:0:', 'staff:x:50:app,other', 'wheel:x:10:app', 'app:x:1000:', 'root-extra:x:60:root'].join('\n');

describe('parsePasswd / parseGroup', () => {
  it('reads fields by position, trims lines, skips blank ones and treats bad numbers as 0', () => {
    expect(parsePasswd(passwd).map((e) => [e.name, e.uid, e.gid, e.home])).toEqual([
      ['root', 0, 0, '/root'],
      ['app', 1000, 1000, '/home/app'],
      ['dup', 1000, 2000, '/dup'],
      ['broken', 0, 7, '/broken'],
      ['short', 3, 0, ''],
    ]);
    expect(parseGroup(group)[1]).toEqual({ name: 'staff', gid: 50, members: ['app', 'other'] });
    expect(parseGroup('empty:x:5:')[0].members).toEqual([]);
  });
});

describe('resolveUserSpec (Docker / runc GetExecUser semantics)', () => {
  it('defaults to root and its passwd entry, with groups listing root', () => {
    expect(resolveUserSpec('', passwd, group)).toEqual({ uid: 0, gid: 0, supplementaryGids: [60], home: '/root' });
  });

  it('defaults to uid 0, gid 0, home / without passwd and group files', () => {
    expect(resolveUserSpec('', null, null)).toEqual({ uid: 0, gid: 0, supplementaryGids: [], home: '/' });
  });

  it('matches a name, taking the primary gid and every group listing the user', () => {
    expect(resolveUserSpec('app', passwd, group)).toEqual({ uid: 1000, gid: 1000, supplementaryGids: [50, 10], home: '/home/app' });
  });

  it('matches a numeric user by uid, first entry winning', () => {
    expect(resolveUserSpec('1000', passwd, group)).toMatchObject({ uid: 1000, gid: 1000, supplementaryGids: [50, 10] });
  });

  it('uses an explicit group by name or gid instead of supplementary groups', () => {
    expect(resolveUserSpec('app:wheel', passwd, group)).toEqual({ uid: 1000, gid: 10, supplementaryGids: [], home: '/home/app' });
    expect(resolveUserSpec('app:50', passwd, group)).toMatchObject({ gid: 50, supplementaryGids: [] });
    expect(resolveUserSpec('app:777', passwd, group)).toMatchObject({ gid: 777, supplementaryGids: [] });
  });

  it('accepts unknown numeric ids as they are', () => {
    expect(resolveUserSpec('4242', passwd, group)).toEqual({ uid: 4242, gid: 0, supplementaryGids: [], home: '/' });
    expect(resolveUserSpec('4242:4343', null, null)).toEqual({ uid: 4242, gid: 4343, supplementaryGids: [], home: '/' });
  });

  it('rejects unknown names and out-of-range ids with Docker\'s messages', () => {
    expect(() => resolveUserSpec('ghost', passwd, group)).toThrow('unable to find user ghost: no matching entries in passwd file');
    expect(() => resolveUserSpec('ghost', null, null)).toThrow('unable to find user ghost: no matching entries in passwd file');
    expect(() => resolveUserSpec('app:ghosts', passwd, group)).toThrow('unable to find group ghosts: no matching entries in group file');
    expect(() => resolveUserSpec('-1', passwd, group)).toThrow('uids and gids must be in range 0-2147483647');
    expect(() => resolveUserSpec('1:2147483648', passwd, group)).toThrow('uids and gids must be in range 0-2147483647');
  });
});
