import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '@cargohold/config';
import { AccessPolicy } from './access-policy.service';
import type { ApiTokenService } from './api-token.service';
import type { Principal } from './auth.types';

const ADMIN = 'admin-token-with-at-least-32-characters';
const ci: Principal = { kind: 'token', tokenId: 't1', name: 'ci', grants: [{ repository: 'team/*', actions: ['pull'] }] };

function policy(auth: Partial<AppConfig['auth']> = {}) {
  const config = { auth: { enabled: true, adminToken: ADMIN, anonymousPull: [], tokenTtlSeconds: 300, ...auth } } as unknown as AppConfig;
  const seen: string[] = [];
  const apiTokens = {
    authenticate: async (secret: string) => {
      seen.push(secret);
      return secret === 'chk_good' ? ci : null;
    },
  } as unknown as ApiTokenService;
  return { access: new AccessPolicy(config, apiTokens), seen };
}

describe('AccessPolicy', () => {
  afterEach(() => vi.restoreAllMocks());

  it('authenticates the admin token without asking the token store, and it may administer', async () => {
    const { access, seen } = policy();
    const admin = await access.authenticate(ADMIN);
    expect(admin).toMatchObject({ kind: 'admin', name: 'admin' });
    expect(access.canAdminister(admin!)).toBe(true);
    expect(access.can(admin!, 'any/repo', 'delete')).toBe(true);
    expect(seen).toEqual([]);
  });

  it('passes other secrets to the API token store', async () => {
    const { access, seen } = policy();
    expect(await access.authenticate('chk_good')).toEqual(ci);
    expect(await access.authenticate(`${ADMIN}x`)).toBeNull();
    expect(await access.authenticate('')).toBeNull();
    expect(seen).toEqual(['chk_good', `${ADMIN}x`]);
    expect(access.canAdminister(ci)).toBe(false);
    expect(access.can(ci, 'team/x', 'pull')).toBe(true);
    expect(access.can(ci, 'team/x', 'push')).toBe(false);
  });

  it('has no admin token when none is configured', async () => {
    const { access } = policy({ adminToken: undefined });
    expect(await access.authenticate(ADMIN)).toBeNull();
  });

  it('gives anonymous callers pull on the CARGOHOLD_ANONYMOUS_PULL patterns only', () => {
    const { access } = policy({ anonymousPull: ['public/**', 'base'] });
    const anonymous = access.anonymous();
    expect(anonymous).toMatchObject({ kind: 'anonymous', grants: [{ repository: 'public/**', actions: ['pull'] }, { repository: 'base', actions: ['pull'] }] });
    expect(access.can(anonymous, 'public/a/b', 'pull')).toBe(true);
    expect(access.can(anonymous, 'public/a/b', 'push')).toBe(false);
    expect(access.can(anonymous, 'private', 'pull')).toBe(false);
    expect(access.can(policy().access.anonymous(), 'base', 'pull')).toBe(false);
  });

  it('refuses to start with a bad anonymous pattern, naming the variable', () => {
    expect(() => policy({ anonymousPull: ['base:latest'] })).toThrow(/^CARGOHOLD_ANONYMOUS_PULL: invalid repository pattern "base:latest"/);
  });

  it('warns once, loudly, when authentication is off', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { access } = policy({ enabled: false });
    expect(access.enabled).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/^authentication is OFF: every request is allowed; set CARGOHOLD_AUTH=on/);
    warn.mockClear();
    policy({ enabled: true });
    expect(warn).not.toHaveBeenCalled();
  });
});
