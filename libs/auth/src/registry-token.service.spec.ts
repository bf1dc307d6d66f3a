import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '@cargohold/config';
import type { ApiTokenService } from './api-token.service';
import { InvalidRegistryTokenError } from './auth.errors';
import type { Principal } from './auth.types';
import { OPEN_PRINCIPAL } from './grants.util';
import { grantedAccess, parseScopeParam, RegistryTokenService } from './registry-token.service';
import type { ServiceSecretStore } from './service-secret.store';

const ci: Principal = {
  kind: 'token',
  tokenId: 'tok-1',
  name: 'ci',
  grants: [
    { repository: 'team/*', actions: ['pull', 'push'] },
    { repository: 'app', actions: ['pull'] },
  ],
};

function service(options: { key?: Buffer; live?: boolean; enabled?: boolean; ttl?: number } = {}) {
  const key = options.key ?? randomBytes(32);
  const config = { auth: { enabled: options.enabled ?? true, adminToken: 'a'.repeat(32), anonymousPull: [], tokenTtlSeconds: options.ttl ?? 300 } } as unknown as AppConfig;
  const secrets = { get: async () => key } as unknown as ServiceSecretStore;
  const apiTokens = { isLive: async () => options.live ?? true } as unknown as ApiTokenService;
  return { key, tokens: new RegistryTokenService(config, secrets, apiTokens) };
}

describe('parseScopeParam', () => {
  it('reads repository scopes, repeated and space-separated', () => {
    expect(parseScopeParam(['repository:team/app:pull,push', 'repository:app:pull repository:other:*'])).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'app', actions: ['pull'] },
      { type: 'repository', name: 'other', actions: ['*'] },
    ]);
  });

  it('keeps a host with a port inside the name and drops a resource class', () => {
    expect(parseScopeParam('repository(plugin):127.0.0.1:5000/x:pull')).toEqual([{ type: 'repository', name: '127.0.0.1:5000/x', actions: ['pull'] }]);
  });

  it('accepts registry:catalog:* and ignores unknown types, actions and junk', () => {
    expect(parseScopeParam('registry:catalog:*')).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    expect(parseScopeParam(['registry:other:*', 'registry:catalog:pull', 'thing:x:pull', 'repository:app', 'repository::pull', 'repository:app:fly', ':x:y', ''])).toEqual([]);
    expect(parseScopeParam('repository:app:fly,pull,pull')).toEqual([{ type: 'repository', name: 'app', actions: ['pull'] }]);
    expect(parseScopeParam([])).toEqual([]);
  });
});

describe('grantedAccess', () => {
  it('grants the intersection of what was asked and what is allowed', () => {
    expect(grantedAccess(ci, parseScopeParam(['repository:team/web:pull,push,delete', 'repository:app:push,pull', 'repository:secret:pull']))).toEqual([
      { type: 'repository', name: 'team/web', actions: ['pull', 'push'] },
      { type: 'repository', name: 'app', actions: ['pull'] },
    ]);
  });

  it('* asks for everything allowed; names are matched in familiar form', () => {
    expect(grantedAccess(ci, parseScopeParam('repository:library/app:*'))).toEqual([{ type: 'repository', name: 'library/app', actions: ['pull'] }]);
    expect(grantedAccess(OPEN_PRINCIPAL, parseScopeParam('repository:x:*'))).toEqual([
      { type: 'repository', name: 'x', actions: ['pull', 'push', 'delete', 'build', 'admin'] },
    ]);
  });

  it('merges repeated names and skips invalid ones', () => {
    expect(grantedAccess(ci, parseScopeParam('repository:team/a:pull repository:team/a:push repository:Team/A:pull'))).toEqual([
      { type: 'repository', name: 'team/a', actions: ['pull', 'push'] },
    ]);
  });

  it('grants the catalog only to a principal that may pull everything', () => {
    const catalog = parseScopeParam('registry:catalog:*');
    expect(grantedAccess(ci, catalog)).toEqual([]);
    const reader: Principal = { kind: 'token', name: 'r', grants: [{ repository: '**', actions: ['pull'] }] };
    expect(grantedAccess(reader, catalog)).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  });
});

describe('RegistryTokenService', () => {
  afterEach(() => vi.useRealTimers());

  it('issues a token with the distribution claims that verifies back to exactly its access', async () => {
    const { tokens } = service({ ttl: 120 });
    const issued = await tokens.issue(ci, parseScopeParam('repository:team/web:pull,push,delete'));
    expect(issued.access_token).toBe(issued.token);
    expect(issued.expires_in).toBe(120);
    const claims = decodeJwt(issued.token);
    expect(claims).toMatchObject({ iss: 'cargohold', aud: 'cargohold', sub: 'ci', access: [{ type: 'repository', name: 'team/web', actions: ['pull', 'push'] }] });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);
    expect(new Date(issued.issued_at).getTime()).toBe((claims.iat ?? 0) * 1000);

    const principal = await tokens.verify(issued.token);
    expect(principal).toEqual({ kind: 'token', tokenId: 'tok-1', name: 'ci', grants: [{ repository: 'team/web', actions: ['pull', 'push'] }] });
  });

  it('carries the catalog grant through', async () => {
    const { tokens } = service();
    const reader: Principal = { kind: 'admin', name: 'admin', grants: [{ repository: '**', actions: ['admin'] }] };
    const principal = await tokens.verify((await tokens.issue(reader, parseScopeParam('registry:catalog:*'))).token);
    expect(principal).toMatchObject({ kind: 'admin', grants: [], catalog: true });
  });

  it('refuses a token whose payload was altered', async () => {
    const { tokens } = service();
    const [header, , signature] = (await tokens.issue(ci, parseScopeParam('repository:app:pull'))).token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt((await tokens.issue(ci, [])).token), access: [{ type: 'repository', name: 'secret', actions: ['pull'] }] })).toString('base64url');
    await expect(tokens.verify(`${header}.${forged}.${signature}`)).rejects.toThrow('signature does not verify');
  });

  it('refuses a token signed with another key', async () => {
    const issued = await service().tokens.issue(ci, parseScopeParam('repository:app:pull'));
    await expect(service().tokens.verify(issued.token)).rejects.toThrow(InvalidRegistryTokenError);
  });

  it('refuses an expired token', async () => {
    const { tokens } = service({ ttl: 60 });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 120_000);
    const issued = await tokens.issue(ci, parseScopeParam('repository:app:pull'));
    vi.useRealTimers();
    await expect(tokens.verify(issued.token)).rejects.toThrow('the registry token has expired');
  });

  it('refuses another audience or issuer, and unsigned tokens', async () => {
    const { key, tokens } = service();
    const sign = (iss: string, aud: string) =>
      new SignJWT({ access: [], kind: 'token', token_id: 'tok-1' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(iss).setAudience(aud).setSubject('ci').setIssuedAt().setExpirationTime('1m').sign(key);
    await expect(tokens.verify(await sign('cargohold', 'elsewhere'))).rejects.toThrow('not issued for this registry (aud claim)');
    await expect(tokens.verify(await sign('elsewhere', 'cargohold'))).rejects.toThrow('not issued for this registry (iss claim)');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(decodeJwt(await sign('cargohold', 'cargohold')))).toString('base64url')}.`;
    await expect(tokens.verify(unsigned)).rejects.toThrow(InvalidRegistryTokenError);
  });

  it('refuses a token of a revoked API token', async () => {
    const key = randomBytes(32);
    const issued = await service({ key }).tokens.issue(ci, parseScopeParam('repository:app:pull'));
    await expect(service({ key, live: false }).tokens.verify(issued.token)).rejects.toThrow('revoked or has expired');
  });

  it('never honours an open token once authentication is on', async () => {
    const key = randomBytes(32);
    const issued = await service({ key, enabled: false }).tokens.issue(OPEN_PRINCIPAL, parseScopeParam('repository:app:*'));
    await expect(service({ key, enabled: false }).tokens.verify(issued.token)).resolves.toMatchObject({ kind: 'open' });
    await expect(service({ key, enabled: true }).tokens.verify(issued.token)).rejects.toThrow('issued while authentication was off');
  });
});
