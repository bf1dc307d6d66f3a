import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { PushedTestImage, TestRegistry } from '@cargohold/testing';
import { busyboxImage, pushTestImage, startRegistry } from '@cargohold/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './registry-client';
import { RegistryAuthError } from './registry-errors';

const client = new RegistryClient({ retries: 1 });
const alice = { username: 'alice', password: 'wonderland' };
const REPO = 'auth/busybox';

describe('anonymous registry', () => {
  let registry: TestRegistry;
  let image: PushedTestImage;
  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushTestImage(registry, REPO, 'v1', busyboxImage('auth'));
  });
  afterAll(() => registry?.stop());

  it('pings and pulls without credentials over plain HTTP (loopback)', async () => {
    const session = client.session(registry.host);
    expect(session.baseUrl).toBe(registry.url);
    await session.ping();
    expect((await session.getManifest(REPO, 'v1')).digest).toBe(image.manifestDigest);
  });
});

describe('htpasswd (Basic) registry', () => {
  let registry: TestRegistry;
  let image: PushedTestImage;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
    image = await pushTestImage(registry, REPO, 'v1', busyboxImage('auth'));
  });
  afterAll(() => registry?.stop());

  it('logs in and pulls with the right password', async () => {
    const session = client.session(registry.host, alice);
    await session.ping();
    expect((await session.getManifest(REPO, 'v1')).digest).toBe(image.manifestDigest);
    expect(await session.hasBlob(REPO, image.configDigest)).toEqual({ size: image.configSize });
  });

  it('refuses a wrong password at login with dockerd’s message', async () => {
    const failure = client.session(registry.host, { username: 'alice', password: 'nope' }).ping();
    await expect(failure).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(failure).rejects.toThrow(`login attempt to ${registry.url}/v2/ failed with status: 401 Unauthorized`);
  });

  it('refuses reads without credentials: unauthorized: authentication required', async () => {
    const failure = client.session(registry.host).getManifest(REPO, 'v1');
    await expect(failure).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(failure).rejects.toThrow('unauthorized: authentication required');
  });
});

describe('token registry', () => {
  let registry: TestRegistry;
  let image: PushedTestImage;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', anonymous: 'pull' });
    image = await pushTestImage(registry, REPO, 'v1', busyboxImage('auth'));
  });
  afterAll(() => registry?.stop());

  const tokenRequests = (): NonNullable<TestRegistry['tokenServer']>['requests'] => registry.tokenServer?.requests ?? [];

  it('pulls anonymously with an anonymous pull token', async () => {
    const before = tokenRequests().length;
    const session = client.session(registry.host);
    expect((await session.getManifest(REPO, 'v1')).digest).toBe(image.manifestDigest);
    const request = tokenRequests()[before];
    expect(request).toMatchObject({ method: 'GET', account: null, scopes: [`repository:${REPO}:pull`], status: 200 });
  });

  it('denies an anonymous push', async () => {
    const session = client.session(registry.host);
    const data = Buffer.from('anonymous push');
    const failure = session.uploadBlob('auth/anon', `sha256:${'0'.repeat(64)}`, data.length, () => Readable.from([data]));
    await expect(failure).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(failure).rejects.toThrow(/denied: requested access to the resource is denied/);
  });

  it('refuses a wrong password with the token server’s message', async () => {
    const failure = client.session(registry.host, { username: 'alice', password: 'nope' }).ping();
    await expect(failure).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(failure).rejects.toThrow('unauthorized: incorrect username or password');
  });

  it('fetches one token per scope and reuses it while it is valid', async () => {
    const before = tokenRequests().length;
    const session = client.session(registry.host, alice);
    await session.getManifest(REPO, 'v1');
    await session.headManifest(REPO, 'v1');
    await session.hasBlob(REPO, image.configDigest);
    await Promise.all(image.layers.map((l) => session.hasBlob(REPO, l.digest)));
    const mine = tokenRequests().slice(before);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ method: 'GET', account: 'alice', scopes: [`repository:${REPO}:pull`], params: { account: 'alice' } });

    // A push needs pull,push: a second scope set, hence exactly one more token.
    expect(await session.mountBlob('auth/copy', image.configDigest, REPO)).toBe(true);
    const afterMount = tokenRequests().slice(before);
    expect(afterMount).toHaveLength(2);
    expect(afterMount[1].scopes.sort()).toEqual([`repository:${REPO}:pull`, 'repository:auth/copy:pull,push']);
  });

  it('logs in with offline access, then authenticates with the identity token (OAuth2 refresh_token grant)', async () => {
    const login = client.session(registry.host, alice);
    await login.ping();
    const identitytoken = login.identityToken;
    expect(identitytoken).toMatch(/^[0-9a-f]{48}$/);
    expect(tokenRequests().at(-1)).toMatchObject({ method: 'GET', account: 'alice', params: { offline_token: 'true', client_id: 'docker' } });

    const before = tokenRequests().length;
    const session = client.session(registry.host, { identitytoken });
    expect((await session.getManifest(REPO, 'v1')).digest).toBe(image.manifestDigest);
    expect(tokenRequests().slice(before)).toEqual([
      expect.objectContaining({ method: 'POST', grantType: 'refresh_token', account: 'alice', scopes: [`repository:${REPO}:pull`], status: 200 }),
    ]);
  });

  it('sends a registry token as is', async () => {
    const token = registry.tokenServer?.issueToken('alice', [`repository:${REPO}:pull`]) ?? '';
    const before = tokenRequests().length;
    const session = client.session(registry.host, { registrytoken: token });
    expect((await session.getManifest(REPO, 'v1')).digest).toBe(image.manifestDigest);
    expect(tokenRequests().length).toBe(before);
  });
});

describe('a token the registry stops accepting', () => {
  let server: http.Server;
  let url: string;
  const issued: string[] = [];
  const seen: string[] = [];

  beforeAll(async () => {
    // A minimal registry that accepts only the newest token it issued: any older one gets 401 invalid_token.
    server = http.createServer((req, res) => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.url?.startsWith('/token')) {
        const token = `token-${issued.length + 1}`;
        issued.push(token);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token, expires_in: 3600 }));
        return;
      }
      const authorization = req.headers.authorization ?? '';
      seen.push(authorization);
      const challenge = `Bearer realm="${base}/token",service="fake"`;
      if (authorization !== `Bearer ${issued.at(-1)}`) {
        res.writeHead(401, { 'www-authenticate': authorization ? `${challenge},error="invalid_token"` : challenge, 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is replaced by a fresh token once, on 401', async () => {
    const session = client.session(url);
    expect(await session.hasBlob('a/b', `sha256:${'1'.repeat(64)}`)).toBeNull();
    // Another client's token fetch makes ours stale (as expiry or revocation would).
    issued.push('token-by-someone-else');
    expect(await session.hasBlob('a/b', `sha256:${'2'.repeat(64)}`)).toBeNull();
    expect(issued).toEqual(['token-1', 'token-by-someone-else', 'token-3']);
    expect(seen).toEqual(['', 'Bearer token-1', 'Bearer token-1', 'Bearer token-3']);
  });
});
