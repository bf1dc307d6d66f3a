import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '@cargohold/config';
import { ApiTokenEntity, openDatabase, ServiceSecretEntity } from '@cargohold/db';
// Test-only use of the testing lib, which the data-access layer rule does not foresee.
import { TEST_DIALECTS } from '@cargohold/testing';
import { ApiTokenService, LAST_USED_RESOLUTION_MS } from './api-token.service';
import { TokenNotFoundError } from './auth.errors';
import { parseScopeParam, REGISTRY_TOKEN_KEY, RegistryTokenService } from './registry-token.service';
import { ServiceSecretStore } from './service-secret.store';

const config = { auth: { enabled: true, adminToken: undefined, anonymousPull: [], tokenTtlSeconds: 300 } } as unknown as AppConfig;

describe.each(TEST_DIALECTS)('API and registry tokens on $name', ({ open }) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let tokens: ApiTokenService;

  beforeAll(async () => {
    const db = await open();
    cleanup = db.cleanup;
    ds = await openDatabase(db.settings);
    tokens = new ApiTokenService(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    await cleanup?.();
  });

  const row = (id: string) => ds.getRepository(ApiTokenEntity).findOneByOrFail({ id });

  it('creates a token whose secret is shown once and stored only as its sha256', async () => {
    const created = await tokens.create({ name: 'ci', scopes: [{ repository: 'team/*', actions: ['push', 'pull'] }], expiresInSeconds: 3600 });
    expect(created.token).toMatch(/^chk_[A-Za-z0-9_-]{43}$/);
    expect(created.scopes).toEqual([{ repository: 'team/*', actions: ['pull', 'push'] }]);
    expect(new Date(created.expiresAt!).getTime() - new Date(created.createdAt).getTime()).toBe(3_600_000);
    const stored = await row(created.id);
    expect(stored.tokenHash).toBe(createHash('sha256').update(created.token).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(created.token.slice(4));

    const listed = await tokens.list();
    expect(listed.find((t) => t.id === created.id)).toEqual({
      id: created.id,
      name: 'ci',
      scopes: created.scopes,
      createdAt: created.createdAt,
      expiresAt: created.expiresAt,
      revokedAt: null,
      lastUsedAt: null,
    });
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(await tokens.get(created.id)).toEqual(listed.find((t) => t.id === created.id));
  });

  it('authenticates a live token and records its use at most once a minute', async () => {
    const created = await tokens.create({ name: 'reader', scopes: [{ repository: '**', actions: ['pull'] }] });
    expect(created.expiresAt).toBeNull();
    const principal = await tokens.authenticate(created.token);
    expect(principal).toEqual({ kind: 'token', tokenId: created.id, name: 'reader', grants: [{ repository: '**', actions: ['pull'] }] });
    await vi.waitFor(async () => expect((await row(created.id)).lastUsedAt).not.toBeNull());
    const first = (await row(created.id)).lastUsedAt!;

    await tokens.authenticate(created.token);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await row(created.id)).lastUsedAt).toBe(first);

    // A minute later (moved back in the row rather than waited for), the next use is recorded.
    const older = first - LAST_USED_RESOLUTION_MS - 1;
    await ds.getRepository(ApiTokenEntity).update({ id: created.id }, { lastUsedAt: older });
    await tokens.authenticate(created.token);
    await vi.waitFor(async () => expect((await row(created.id)).lastUsedAt).toBeGreaterThan(older));
  });

  it('refuses unknown, expired and revoked tokens', async () => {
    expect(await tokens.authenticate('chk_unknown')).toBeNull();
    expect(await tokens.authenticate('not-a-token')).toBeNull();

    const expiring = await tokens.create({ name: 'short', scopes: [{ repository: 'app', actions: ['pull'] }], expiresInSeconds: 60 });
    expect(await tokens.authenticate(expiring.token)).not.toBeNull();
    await ds.getRepository(ApiTokenEntity).update({ id: expiring.id }, { expiresAt: Date.now() - 1 });
    expect(await tokens.authenticate(expiring.token)).toBeNull();
    expect(await tokens.isLive(expiring.id)).toBe(false);

    const revoked = await tokens.create({ name: 'gone', scopes: [{ repository: 'app', actions: ['pull'] }] });
    const info = await tokens.revoke(revoked.id);
    expect(info.revokedAt).not.toBeNull();
    expect(await tokens.authenticate(revoked.token)).toBeNull();
    expect(await tokens.isLive(revoked.id)).toBe(false);
    expect((await tokens.revoke(revoked.id)).revokedAt).toBe(info.revokedAt);
  });

  it('reports unknown ids as TokenNotFoundError', async () => {
    await expect(tokens.get('00000000-0000-0000-0000-000000000000')).rejects.toThrow(TokenNotFoundError);
    await expect(tokens.revoke('nope')).rejects.toThrow(TokenNotFoundError);
  });

  it('replicas racing for the signing key share one; a token of one verifies on another', async () => {
    const replicas = Array.from({ length: 4 }, () => new RegistryTokenService(config, new ServiceSecretStore(ds), tokens));
    const owner = await tokens.create({ name: 'pusher', scopes: [{ repository: 'team/**', actions: ['push', 'pull'] }] });
    const principal = (await tokens.authenticate(owner.token))!;
    const issued = await Promise.all(replicas.map((r) => r.issue(principal, parseScopeParam('repository:team/a/b:push'))));
    expect(await ds.getRepository(ServiceSecretEntity).countBy({ name: REGISTRY_TOKEN_KEY })).toBe(1);
    for (const [i, replica] of replicas.entries()) {
      const verified = await replica.verify(issued[(i + 1) % replicas.length].token);
      expect(verified.grants).toEqual([{ repository: 'team/a/b', actions: ['push'] }]);
    }

    await tokens.revoke(owner.id);
    await expect(replicas[0].verify(issued[0].token)).rejects.toThrow('revoked');
  });
});
