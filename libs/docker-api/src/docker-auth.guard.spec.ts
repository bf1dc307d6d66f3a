import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import type { AccessPolicy, Principal } from '@cargohold/auth';
import { allows, allowsEverywhere } from '@cargohold/auth';
import type { ImageCatalogService, ImageReferencesRepository } from '@cargohold/image-store';
import { DockerAuthGuard, dockerRouteNeeds } from './docker-auth.guard';

const ID = 'a'.repeat(64);

describe('dockerRouteNeeds', () => {
  const needs = (method: string, route: string, rest?: string, query: Record<string, unknown> = {}) => dockerRouteNeeds(method, route, { '*': rest }, query);

  it('leaves /_ping and /version open', () => {
    expect(needs('GET', '/_ping')).toBeNull();
    expect(needs('HEAD', '/_ping')).toBeNull();
    expect(needs('GET', '/version')).toBeNull();
  });

  it('maps each image route to its scope', () => {
    expect(needs('GET', '/images/json')).toEqual([{ kind: 'signed-in' }]);
    expect(needs('GET', '/info')).toEqual([{ kind: 'signed-in' }]);
    expect(needs('POST', '/auth')).toEqual([{ kind: 'signed-in' }]);
    expect(needs('GET', '/images/*', 'team%2Fapp/json')).toEqual([{ kind: 'image', input: 'team/app', action: 'pull' }]);
    expect(needs('GET', '/images/*', '127.0.0.1:5000/a/b:1/history')).toEqual([{ kind: 'image', input: '127.0.0.1:5000/a/b:1', action: 'pull' }]);
    expect(needs('GET', '/images/get', undefined, { names: ['a', 'b'] })).toEqual([
      { kind: 'image', input: 'a', action: 'pull' },
      { kind: 'image', input: 'b', action: 'pull' },
    ]);
    expect(needs('POST', '/images/load')).toEqual([{ kind: 'everywhere', action: 'push' }]);
    expect(needs('POST', '/images/create', undefined, { fromImage: 'team/app', tag: '1' })).toEqual([{ kind: 'repository', reference: 'team/app', action: 'push' }]);
    expect(needs('POST', '/images/create', undefined, { fromSrc: '-', repo: 'imp:1' })).toEqual([{ kind: 'repository', reference: 'imp:1', action: 'push' }]);
    expect(needs('POST', '/images/create', undefined, { fromSrc: '-' })).toEqual([{ kind: 'somewhere', action: 'push' }]);
    expect(needs('POST', '/images/*', 'app:1/tag', { repo: 'team/app', tag: '2' })).toEqual([
      { kind: 'image', input: 'app:1', action: 'pull' },
      { kind: 'repository', reference: 'team/app', action: 'push' },
    ]);
    expect(needs('POST', '/images/*', '127.0.0.1:5000/app/push', { tag: '1' })).toEqual([{ kind: 'repository', reference: '127.0.0.1:5000/app', action: 'pull' }]);
    expect(needs('DELETE', '/images/*', 'app:1')).toEqual([{ kind: 'image-delete', input: 'app:1' }]);
    expect(needs('POST', '/build', undefined, { t: ['a:1', 'b'] })).toEqual([
      { kind: 'repository', reference: 'a:1', action: 'build' },
      { kind: 'repository', reference: 'b', action: 'build' },
    ]);
  });

  it('closes routes it has no mapping for to all but admins', () => {
    expect(needs('POST', '/networks/create')).toEqual([{ kind: 'admin' }]);
    expect(needs('POST', '/plugins/pull')).toEqual([{ kind: 'admin' }]);
  });

  it('prunes need delete everywhere: they remove images of any repository', () => {
    expect(needs('POST', '/images/prune')).toEqual([{ kind: 'everywhere', action: 'delete' }]);
    expect(needs('POST', '/build/prune')).toEqual([{ kind: 'everywhere', action: 'delete' }]);
  });
});

describe('DockerAuthGuard', () => {
  const tokens: Record<string, Principal> = {
    'chk_reader': { kind: 'token', tokenId: '1', name: 'reader', grants: [{ repository: 'app', actions: ['pull'] }] },
    'chk_deleter': { kind: 'token', tokenId: '2', name: 'deleter', grants: [{ repository: 'app', actions: ['delete'] }] },
    'chk_loader': { kind: 'token', tokenId: '3', name: 'loader', grants: [{ repository: '**', actions: ['push'] }] },
  };
  const policy = {
    enabled: true,
    authenticate: async (secret: string) => tokens[secret] ?? null,
    can: (p: Principal, repository: string, action: 'pull') => allows(p, repository, action),
    canAdminister: (p: Principal) => allowsEverywhere(p, 'admin'),
  } as unknown as AccessPolicy;
  // The store knows one image, tagged app:latest and other:1; `cafe` is tagged too.
  const refs = {
    findTag: async (repository: string, tag: string) => (repository === 'docker.io/library/cafe' && tag === 'latest' ? { imageId: `sha256:${ID}` } : null),
    findDigest: async () => null,
    referencesOf: async (ids: string[]) =>
      new Map(ids.map((id) => [id, [{ kind: 'tag', repository: 'docker.io/library/app' }, { kind: 'tag', repository: 'docker.io/library/other' }]])),
  } as unknown as ImageReferencesRepository;
  const catalog = {
    resolve: async (input: string) => {
      if (input.startsWith('aaaa') || input === `sha256:${ID}`) return { id: `sha256:${ID}` };
      throw new Error('No such image');
    },
  } as unknown as ImageCatalogService;
  const guard = new DockerAuthGuard(policy, catalog, refs);

  const run = (token: string | undefined, method: string, route: string, rest?: string, query: Record<string, unknown> = {}) => {
    const request = { method, url: route, routeOptions: { url: route }, params: { '*': rest }, query, headers: token ? { authorization: `Bearer ${token}` } : {} };
    return guard.canActivate({ switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext);
  };

  it('asks nothing of /_ping but a valid token of everything else', async () => {
    await expect(run(undefined, 'GET', '/_ping')).resolves.toBe(true);
    await expect(run(undefined, 'GET', '/images/json')).rejects.toThrow(UnauthorizedException);
    await expect(run('chk_wrong', 'GET', '/images/json')).rejects.toThrow('not valid');
    await expect(run('chk_deleter', 'GET', '/images/json')).resolves.toBe(true);
  });

  it('checks the repository of a named image and lets image IDs through', async () => {
    await expect(run('chk_reader', 'GET', '/images/*', 'app:1/json')).resolves.toBe(true);
    await expect(run('chk_reader', 'GET', '/images/*', 'secret/json')).rejects.toThrow('access denied: the token "reader" may not pull from repository "secret"');
    await expect(run('chk_deleter', 'GET', '/images/*', `${ID}/json`)).resolves.toBe(true);
    await expect(run('chk_deleter', 'GET', '/images/*', 'aaaa/json')).resolves.toBe(true);
    // `cafe` is hex but tagged: it names the repository.
    await expect(run('chk_deleter', 'GET', '/images/*', 'cafe/json')).rejects.toThrow('may not pull from repository "cafe"');
  });

  it('deleting by ID takes delete on every repository that references the image', async () => {
    await expect(run('chk_deleter', 'DELETE', '/images/*', 'app:1')).resolves.toBe(true);
    await expect(run('chk_deleter', 'DELETE', '/images/*', ID)).rejects.toThrow('may not delete from repository "other"');
    await expect(run('chk_reader', 'DELETE', '/images/*', 'app')).rejects.toThrow(ForbiddenException);
    await expect(run('chk_reader', 'DELETE', '/images/*', 'b'.repeat(64))).resolves.toBe(true); // unknown: the handler's 404
  });

  it('load needs push on **; tag needs pull on the source and push on the target', async () => {
    await expect(run('chk_loader', 'POST', '/images/load')).resolves.toBe(true);
    await expect(run('chk_reader', 'POST', '/images/load')).rejects.toThrow('may not push to every repository ("**")');
    await expect(run('chk_reader', 'POST', '/images/*', 'app/tag', { repo: 'copy' })).rejects.toThrow('may not push to repository "copy"');
    await expect(run('chk_loader', 'POST', '/images/*', 'app/tag', { repo: 'copy' })).rejects.toThrow('may not pull from repository "app"');
  });

  it('allows everything while authentication is off', async () => {
    const open = new DockerAuthGuard({ ...policy, enabled: false } as unknown as AccessPolicy, catalog, refs);
    const request = { method: 'POST', routeOptions: { url: '/images/load' }, params: {}, query: {}, headers: {} };
    await expect(open.canActivate({ switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext)).resolves.toBe(true);
  });
});
