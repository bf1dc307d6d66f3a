import { describe, expect, it } from 'vitest';
import { findChallenge, parseWwwAuthenticate } from './www-authenticate.util';

describe('parseWwwAuthenticate', () => {
  it('reads a Docker Hub style bearer challenge', () => {
    const header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"';
    expect(parseWwwAuthenticate(header)).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
    ]);
  });

  it('reads Basic, lower-cases scheme and parameter names, keeps values', () => {
    expect(parseWwwAuthenticate('BASIC Realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  });

  it('reads several challenges in one value and across values', () => {
    const parsed = parseWwwAuthenticate(['Basic realm="a", Bearer realm="https://t/token" , service=reg', 'Negotiate']);
    expect(parsed.map((c) => c.scheme)).toEqual(['basic', 'bearer', 'negotiate']);
    expect(findChallenge(parsed, 'bearer')?.params).toEqual({ realm: 'https://t/token', service: 'reg' });
  });

  it('unescapes quoted pairs and accepts unquoted tokens and error parameters', () => {
    const parsed = parseWwwAuthenticate('Bearer realm="https://x/\\"q\\"",error=insufficient_scope, error_description="no \\\\ way"');
    expect(parsed[0].params).toEqual({ realm: 'https://x/"q"', error: 'insufficient_scope', error_description: 'no \\ way' });
  });

  it('returns nothing for an absent or empty header and survives garbage', () => {
    expect(parseWwwAuthenticate(null)).toEqual([]);
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate('  ,, ')).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm="unterminated')).toEqual([{ scheme: 'bearer', params: { realm: 'unterminated' } }]);
    expect(parseWwwAuthenticate('@@@ Bearer realm=x')).toEqual([{ scheme: 'bearer', params: { realm: 'x' } }]);
  });
});
