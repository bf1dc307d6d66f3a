import { describe, expect, it } from 'vitest';
import { parseAuthorization } from './authorization-header.util';

describe('parseAuthorization', () => {
  it('reads bearer tokens, any scheme case', () => {
    expect(parseAuthorization('Bearer chk_abc')).toEqual({ scheme: 'bearer', token: 'chk_abc' });
    expect(parseAuthorization('bearer  a.b.c')).toEqual({ scheme: 'bearer', token: 'a.b.c' });
  });

  it('reads basic credentials; the password may contain colons', () => {
    const header = `Basic ${Buffer.from('ci:chk_x:y').toString('base64')}`;
    expect(parseAuthorization(header)).toEqual({ scheme: 'basic', username: 'ci', password: 'chk_x:y' });
    expect(parseAuthorization([`basic ${Buffer.from(':p').toString('base64')}`])).toEqual({ scheme: 'basic', username: '', password: 'p' });
  });

  it('is null for missing, unknown or malformed values', () => {
    for (const value of [undefined, null, '', 'Bearer', 'Bearer a b', 'Digest x', `Basic ${Buffer.from('nocolon').toString('base64')}`, 'Basic !!!']) {
      expect(parseAuthorization(value)).toBeNull();
    }
  });
});
