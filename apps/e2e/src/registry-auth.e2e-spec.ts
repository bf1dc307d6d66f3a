import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deterministicBuffer,
  dockerCli,
  multiLayerImage,
  startDockerd,
  startS3Server,
  startSystem,
  writeDockerArchive,
  type DockerCli,
  type DockerdHandle,
  type S3ServerHandle,
  type SystemHandle,
} from '@cargohold/testing';

const execFileAsync = promisify(execFile);

const ADMIN_TOKEN = 'e2e-registry-auth-admin-0123456789abcdef';
const SERVICE = 'cargohold';
/** The repository the route table works on; pushed with the admin token before anything else. */
const REPO = 'team/seed';
const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
type RegistryAction = 'pull' | 'push' | 'delete';

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

interface RegistryError {
  code: string;
  message: string;
  detail?: unknown;
}

interface RequestOptions {
  auth?: string;
  body?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

interface IssuedToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

interface JwtPayload {
  access: Array<{ type: string; name: string; actions: string[] }>;
  kind: string;
  sub: string;
  iat: number;
  exp: number;
}

interface CreatedToken {
  id: string;
  name: string;
  token: string;
}

/** What the route table needs of the seeded repository. */
interface Seed {
  manifest: { digest: string; bytes: Buffer; mediaType: string };
  config: string;
  layers: string[];
  /** Upload sessions opened by the admin: one to status/append/complete, one to cancel. */
  uploads: { main: string; other: string };
  /** A blob no one has pushed: pushing it must leave a trace the snapshot would show. */
  fresh: { digest: string; bytes: Buffer };
}

interface RouteCase {
  label: string;
  method: Method;
  path: (seed: Seed) => string;
  body?: (seed: Seed) => { bytes: Buffer; contentType: string };
  /** Any valid credentials (`/v2/`, the catalog), or these actions on REPO. */
  needs: 'signed-in' | RegistryAction[];
  /** The answer with sufficient credentials, in table order (the table runs top to bottom at the end). */
  ok: number;
}

const basic = (secret: string, user = 'ci'): string => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const bearer = (token: string): string => `Bearer ${token}`;
const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The JWT's claims; the test only reads them, the registry is what verifies the signature. */
function jwtPayload(jwt: string): JwtPayload {
  const parts = jwt.split('.');
  expect(parts).toHaveLength(3);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as JwtPayload;
}

function errorOf(reply: Reply): RegistryError {
  const parsed = JSON.parse(reply.body.toString('utf8')) as { errors: RegistryError[] };
  expect(parsed.errors).toHaveLength(1);
  return parsed.errors[0];
}

async function send(baseUrl: string, method: Method, target: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = options.auth;
  if (options.body) headers['content-type'] = options.contentType ?? 'application/octet-stream';
  const res = await fetch(baseUrl + target, { method, headers, body: options.body, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function skopeo(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('skopeo', ['--insecure-policy', ...args], { maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, stdout, stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? failed.message };
  }
}

async function skopeoOk(args: string[]): Promise<string> {
  const result = await skopeo(args);
  if (!result.ok) throw new Error(`skopeo ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

const uploadPath = (uuid: string): string => `/v2/${REPO}/blobs/uploads/${uuid}`;

/**
 * Every route class of /v2/, one request each. Ordered so that, run top to bottom with
 * sufficient credentials, each answers `ok` (the cancel uses its own session, the deletes come last).
 */
const ROUTES: RouteCase[] = [
  { label: 'base GET /v2/', method: 'GET', path: () => '/v2/', needs: 'signed-in', ok: 200 },
  { label: 'catalog GET', method: 'GET', path: () => '/v2/_catalog', needs: 'signed-in', ok: 200 },
  { label: 'tags list GET', method: 'GET', path: () => `/v2/${REPO}/tags/list`, needs: ['pull'], ok: 200 },
  { label: 'manifest GET', method: 'GET', path: () => `/v2/${REPO}/manifests/seed`, needs: ['pull'], ok: 200 },
  { label: 'manifest HEAD', method: 'HEAD', path: (s) => `/v2/${REPO}/manifests/${s.manifest.digest}`, needs: ['pull'], ok: 200 },
  { label: 'referrers GET', method: 'GET', path: (s) => `/v2/${REPO}/referrers/${s.manifest.digest}`, needs: ['pull'], ok: 200 },
  { label: 'blob GET', method: 'GET', path: (s) => `/v2/${REPO}/blobs/${s.layers[0]}`, needs: ['pull'], ok: 200 },
  { label: 'blob HEAD', method: 'HEAD', path: (s) => `/v2/${REPO}/blobs/${s.config}`, needs: ['pull'], ok: 200 },
  { label: 'upload GET (status)', method: 'GET', path: (s) => uploadPath(s.uploads.main), needs: ['push'], ok: 204 },
  {
    label: 'upload PATCH (chunk)',
    method: 'PATCH',
    path: (s) => uploadPath(s.uploads.main),
    body: (s) => ({ bytes: s.fresh.bytes, contentType: 'application/octet-stream' }),
    needs: ['push'],
    ok: 202,
  },
  { label: 'upload PUT (complete)', method: 'PUT', path: (s) => `${uploadPath(s.uploads.main)}?digest=${s.fresh.digest}`, needs: ['push'], ok: 201 },
  { label: 'upload DELETE (cancel)', method: 'DELETE', path: (s) => uploadPath(s.uploads.other), needs: ['push'], ok: 204 },
  {
    label: 'upload POST (monolithic)',
    method: 'POST',
    path: (s) => `/v2/${REPO}/blobs/uploads/?digest=${s.fresh.digest}`,
    body: (s) => ({ bytes: s.fresh.bytes, contentType: 'application/octet-stream' }),
    needs: ['pull', 'push'],
    ok: 201,
  },
  {
    label: 'manifest PUT',
    method: 'PUT',
    path: () => `/v2/${REPO}/manifests/intruder`,
    body: (s) => ({ bytes: s.manifest.bytes, contentType: s.manifest.mediaType }),
    needs: ['push'],
    ok: 201,
  },
  { label: 'blob DELETE', method: 'DELETE', path: (s) => `/v2/${REPO}/blobs/${s.layers[0]}`, needs: ['delete'], ok: 202 },
  { label: 'manifest DELETE', method: 'DELETE', path: (s) => `/v2/${REPO}/manifests/${s.manifest.digest}`, needs: ['delete'], ok: 202 },
];

/** The scope a refusal's challenge names for this route, as distribution writes it. */
const scopeOf = (route: RouteCase): string | null => {
  if (route.needs !== 'signed-in') return `repository:${REPO}:${route.needs.join(',')}`;
  // The catalog asks for the scope that lists it, as distribution does.
  return route.label.startsWith('catalog') ? 'registry:catalog:*' : null;
};

/**
 * The registry API (/v2/) with CARGOHOLD_AUTH=on: every route class refused without the right
 * credentials (and nothing changed), the token endpoint, and real clients (skopeo, dockerd) going
 * through the Bearer challenge flow with API tokens made through /api/v1/tokens.
 */
describe('registry API authentication', () => {
  let system: SystemHandle;
  let dir: string;
  let host: string;
  let seedImageId: string;
  const tokens = {} as Record<'puller' | 'pusher' | 'deleter' | 'revoked', CreatedToken>;
  /** A registry token issued for the `revoked` API token while it was still live. */
  let revokedJwt: string;

  const call = (method: Method, target: string, options?: RequestOptions): Promise<Reply> => send(system.url, method, target, options);
  const asAdmin = (method: Method, target: string, options: RequestOptions = {}): Promise<Reply> => call(method, target, { ...options, auth: basic(ADMIN_TOKEN) });

  async function createToken(name: string, actions: RegistryAction[]): Promise<CreatedToken> {
    const res = await fetch(`${system.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ name, scopes: [{ repository: 'team/*', actions }] }),
    });
    const body = (await res.json()) as CreatedToken;
    expect(res.status, JSON.stringify(body)).toBe(201);
    return body;
  }

  async function registryToken(auth: string | undefined, scopes: string[]): Promise<{ reply: Reply; issued?: IssuedToken }> {
    const query = new URLSearchParams({ service: SERVICE });
    for (const scope of scopes) query.append('scope', scope);
    const reply = await call('GET', `/v2/token?${query}`, { auth });
    return { reply, issued: reply.status === 200 ? (JSON.parse(reply.body.toString('utf8')) as IssuedToken) : undefined };
  }

  async function jwtFor(auth: string | undefined, scopes: string[]): Promise<string> {
    const { reply, issued } = await registryToken(auth, scopes);
    expect(reply.status, reply.body.toString('utf8')).toBe(200);
    return issued!.token;
  }

  /** The challenge a refused request must carry: realm, service, and the scope the route needs. */
  function challenge(scope: string | null, invalidCredentials: boolean): string {
    const parts = [`realm="${system.url}/v2/token"`, `service="${SERVICE}"`];
    if (scope) parts.push(`scope="${scope}"`);
    if (invalidCredentials) parts.push('error="invalid_token"');
    return `Bearer ${parts.join(',')}`;
  }

  async function tagsOf(repository: string): Promise<{ status: number; tags?: string[] }> {
    const reply = await asAdmin('GET', `/v2/${repository}/tags/list`);
    return { status: reply.status, tags: reply.status === 200 ? (JSON.parse(reply.body.toString('utf8')) as { tags: string[] }).tags : undefined };
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-registry-auth-'));
    const written = await writeDockerArchive(path.join(dir, 'seed.tar'), [multiLayerImage('team/seed:seed', 2)], { format: 'docker-archive-legacy' });
    seedImageId = written.images[0].id;
    system = await startSystem({ env: { CARGOHOLD_AUTH: 'on', CARGOHOLD_ADMIN_TOKEN: ADMIN_TOKEN, CARGOHOLD_ANONYMOUS_PULL: 'public/*' } });
    host = new URL(system.url).host;

    tokens.puller = await createToken('puller', ['pull']);
    tokens.pusher = await createToken('pusher', ['pull', 'push']);
    tokens.deleter = await createToken('deleter', ['delete']);
    tokens.revoked = await createToken('revoked', ['pull', 'push', 'delete']);

    for (const target of [`${REPO}:seed`, 'public/x:1', 'team/dock:1']) {
      await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_TOKEN}`, `docker-archive:${path.join(dir, 'seed.tar')}`, `docker://${host}/${target}`]);
    }

    // The revoked token works until it is revoked, through both ways of presenting it.
    revokedJwt = await jwtFor(basic(tokens.revoked.token), [`repository:${REPO}:pull,push,delete`]);
    expect((await call('GET', `/v2/${REPO}/tags/list`, { auth: bearer(revokedJwt) })).status).toBe(200);
    expect((await call('GET', `/v2/${REPO}/tags/list`, { auth: basic(tokens.revoked.token) })).status).toBe(200);
    const revoke = await fetch(`${system.url}/api/v1/tokens/${tokens.revoked.id}`, { method: 'DELETE', headers: { authorization: bearer(ADMIN_TOKEN) } });
    expect(revoke.status).toBe(204);
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('every /v2/ route class', () => {
    let seed: Seed;
    let baseline: unknown;

    /** What a refused request must not have changed: tags, manifest, blobs, open uploads, catalog. */
    async function snapshot(): Promise<unknown> {
      const tags = await tagsOf(REPO);
      const manifest = await asAdmin('HEAD', `/v2/${REPO}/manifests/seed`);
      const blobs: Array<[string, number]> = [];
      for (const digest of [seed.config, ...seed.layers, seed.fresh.digest]) blobs.push([digest, (await asAdmin('HEAD', `/v2/${REPO}/blobs/${digest}`)).status]);
      const uploads: Array<[number, string | null]> = [];
      for (const uuid of [seed.uploads.main, seed.uploads.other]) {
        const status = await asAdmin('GET', uploadPath(uuid));
        uploads.push([status.status, status.headers.get('range')]);
      }
      const catalog = await asAdmin('GET', '/v2/_catalog');
      return { tags, manifest: [manifest.status, manifest.headers.get('docker-content-digest')], blobs, uploads, catalog: catalog.body.toString('utf8') };
    }

    async function openUpload(): Promise<string> {
      const reply = await asAdmin('POST', `/v2/${REPO}/blobs/uploads/`);
      expect(reply.status).toBe(202);
      return reply.headers.get('location')!.split('/').pop()!;
    }

    function request(route: RouteCase, auth: string | undefined): Promise<Reply> {
      const body = route.body?.(seed);
      return call(route.method, route.path(seed), { auth, body: body?.bytes, contentType: body?.contentType });
    }

    /** The API token of this route's table row that lacks (some of) what the route needs. */
    function wrongToken(route: RouteCase): { token: CreatedToken; denied: RegistryAction[] } {
      const needs = route.needs === 'signed-in' ? [] : route.needs;
      const token = needs.includes('delete') ? tokens.pusher : needs.includes('push') ? tokens.puller : tokens.deleter;
      const has: Record<string, RegistryAction[]> = { puller: ['pull'], pusher: ['pull', 'push'], deleter: ['delete'] };
      return { token, denied: needs.filter((action) => !has[token.name].includes(action)) };
    }

    function sufficientToken(route: RouteCase): CreatedToken {
      if (route.needs === 'signed-in') return tokens.puller;
      if (route.needs.includes('delete')) return tokens.deleter;
      return route.needs.includes('push') ? tokens.pusher : tokens.puller;
    }

    async function expectUnauthorized(route: RouteCase, reply: Reply, invalidCredentials: boolean): Promise<void> {
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toBe(challenge(scopeOf(route), invalidCredentials));
      // A HEAD answer has no body to carry the error code: status and challenge are all there is.
      if (route.method !== 'HEAD') {
        expect(errorOf(reply)).toMatchObject({
          code: 'UNAUTHORIZED',
          message: invalidCredentials ? 'authentication required: the credentials are not valid' : 'authentication required',
        });
      }
      expect(await snapshot()).toEqual(baseline);
    }

    /** A valid token without the scope: 403 DENIED naming what is missing; `/v2/` and the catalog only need a valid token. */
    async function expectDenied(route: RouteCase, reply: Reply, principal: string, denied: RegistryAction[], visible: string[]): Promise<void> {
      if (route.needs === 'signed-in') {
        expect(reply.status).toBe(200);
        // The catalog lists only what the caller may pull.
        if (route.label.startsWith('catalog')) expect(JSON.parse(reply.body.toString('utf8'))).toEqual({ repositories: visible });
      } else {
        expect(reply.status).toBe(403);
        expect(reply.headers.get('www-authenticate')).toBeNull();
        if (route.method !== 'HEAD') {
          expect(errorOf(reply)).toEqual({
            code: 'DENIED',
            message: 'requested access to the resource is denied',
            detail: { repository: REPO, denied, principal },
          });
        }
      }
      expect(await snapshot()).toEqual(baseline);
    }

    beforeAll(async () => {
      const manifest = await asAdmin('GET', `/v2/${REPO}/manifests/seed`, { headers: { accept: MANIFEST_ACCEPT } });
      expect(manifest.status).toBe(200);
      const parsed = JSON.parse(manifest.body.toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
      const freshBytes = deterministicBuffer(3000, 'registry-auth-fresh');
      seed = {
        manifest: { digest: manifest.headers.get('docker-content-digest')!, bytes: manifest.body, mediaType: manifest.headers.get('content-type')! },
        config: parsed.config.digest,
        layers: parsed.layers.map((layer) => layer.digest),
        uploads: { main: await openUpload(), other: await openUpload() },
        fresh: { digest: sha256(freshBytes), bytes: freshBytes },
      };
      baseline = await snapshot();
      // The baseline is what it should be, so "unchanged" means something.
      expect(baseline).toMatchObject({ tags: { status: 200, tags: ['seed'] }, manifest: [200, seed.manifest.digest], uploads: [[204, '0-0'], [204, '0-0']] });
      expect((baseline as { blobs: Array<[string, number]> }).blobs.map(([, status]) => status)).toEqual([200, ...seed.layers.map(() => 200), 404]);
    });

    it.each(ROUTES)('$label without credentials: 401 with a challenge naming realm, service and scope', async (route) => {
      await expectUnauthorized(route, await request(route, undefined), false);
    });

    it.each(ROUTES)('$label with an API token lacking the scope (Basic): 403 DENIED (200 where any valid token will do)', async (route) => {
      const { token, denied } = wrongToken(route);
      // An API token may also pull what anyone may pull (public/*).
      await expectDenied(route, await request(route, basic(token.token)), token.name, denied, ['public/x']);
    });

    it.each(ROUTES)('$label with a registry token for that scope issued to an API token lacking it: 403 DENIED (200 where any valid token will do)', async (route) => {
      const { token, denied } = wrongToken(route);
      const scope = scopeOf(route);
      const jwt = await jwtFor(basic(token.token), scope ? [scope] : []);
      // A registry token carries exactly the access it was issued for: no pull at all here.
      await expectDenied(route, await request(route, bearer(jwt)), token.name, denied, []);
    });

    it.each(ROUTES)('$label with a revoked API token (Basic and Bearer): 401', async (route) => {
      await expectUnauthorized(route, await request(route, basic(tokens.revoked.token)), true);
      await expectUnauthorized(route, await request(route, bearer(tokens.revoked.token)), true);
    });

    it.each(ROUTES)('$label with a registry token issued before its API token was revoked: 401', async (route) => {
      await expectUnauthorized(route, await request(route, bearer(revokedJwt)), true);
    });

    it.each(ROUTES)('$label with a garbage bearer token: 401', async (route) => {
      await expectUnauthorized(route, await request(route, bearer('not-a-token')), true);
      // JWT-shaped but not signed by this registry.
      const forged = [{ alg: 'HS256', typ: 'JWT' }, { access: [{ type: 'repository', name: REPO, actions: ['pull', 'push', 'delete'] }], kind: 'admin', sub: 'admin' }]
        .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
        .concat('c2lnbmF0dXJl')
        .join('.');
      await expectUnauthorized(route, await request(route, bearer(forged)), true);
    });

    it('the same requests with sufficient credentials get through, so the refusals above are about credentials', async () => {
      for (const route of ROUTES) {
        const reply = await request(route, basic(sufficientToken(route).token));
        expect(reply.status, `${route.label}: ${reply.body.toString('utf8')}`).toBe(route.ok);
      }
      expect(await tagsOf(REPO)).toEqual({ status: 200, tags: [] });
    });
  });

  describe('the token endpoint', () => {
    it('gives anyone a token for pull on a public repository, which then pulls it', async () => {
      const before = Date.now();
      const { reply, issued } = await registryToken(undefined, ['repository:public/x:pull']);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('cache-control')).toBe('no-store');
      expect(issued).toEqual({ token: expect.any(String), access_token: issued!.token, expires_in: 300, issued_at: expect.any(String) });
      expect(Math.abs(new Date(issued!.issued_at).getTime() - before)).toBeLessThan(60_000);
      const claims = jwtPayload(issued!.token);
      expect(claims).toMatchObject({ kind: 'anonymous', access: [{ type: 'repository', name: 'public/x', actions: ['pull'] }] });
      expect(claims.exp - claims.iat).toBe(300);

      const manifest = await call('GET', '/v2/public/x/manifests/1', { auth: bearer(issued!.token), headers: { accept: MANIFEST_ACCEPT } });
      expect(manifest.status).toBe(200);
      const config = (JSON.parse(manifest.body.toString('utf8')) as { config: { digest: string } }).config.digest;
      expect(config).toBe(seedImageId);
      const blob = await call('GET', `/v2/public/x/blobs/${config}`, { auth: bearer(issued!.token) });
      expect(blob.status).toBe(200);
      expect(sha256(blob.body)).toBe(config);
      // Without any token too: anonymous pull is what CARGOHOLD_ANONYMOUS_PULL=public/* grants.
      expect((await call('HEAD', '/v2/public/x/manifests/1')).status).toBe(200);
    });

    it('gives anyone a token for a private repository that grants nothing', async () => {
      const jwt = await jwtFor(undefined, [`repository:${REPO}:pull`, 'repository:public/x:push']);
      expect(jwtPayload(jwt)).toMatchObject({ kind: 'anonymous', access: [] });
      const before = await tagsOf('team/dock');
      for (const [method, target] of [['GET', '/v2/team/dock/manifests/1'], ['GET', '/v2/team/dock/tags/list'], ['POST', '/v2/public/x/blobs/uploads/']] as const) {
        const reply = await call(method, target, { auth: bearer(jwt) });
        expect(reply.status, target).toBe(401);
        expect(errorOf(reply).code).toBe('UNAUTHORIZED');
        expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
      }
      expect(await tagsOf('team/dock')).toEqual(before);
    });

    it('refuses Basic credentials whose password is not a live API token with 401', async () => {
      for (const auth of [basic('chk_not-a-real-token'), basic(`${ADMIN_TOKEN}x`), basic(tokens.revoked.token), basic('')]) {
        const { reply } = await registryToken(auth, [`repository:${REPO}:pull`]);
        expect(reply.status).toBe(401);
        expect(errorOf(reply)).toMatchObject({ code: 'UNAUTHORIZED', message: 'authentication required: the credentials are not valid' });
        // RFC 9110: a 401 names how to authenticate.
        expect(reply.headers.get('www-authenticate')).toBe('Basic realm="cargohold"');
      }
    });

    it('treats an Authorization header it cannot read as wrong credentials, not as none', async () => {
      for (const auth of ['Basic !!!', 'Digest username="x"']) {
        const reply = await call('HEAD', '/v2/public/x/manifests/1', { auth });
        expect(reply.status, auth).toBe(401);
        expect(reply.headers.get('www-authenticate')).toContain('error="invalid_token"');
      }
    });

    it('lists the whole catalog for a registry token granted registry:catalog:*', async () => {
      const jwt = await jwtFor(basic(ADMIN_TOKEN), ['registry:catalog:*']);
      const catalog = await call('GET', '/v2/_catalog', { auth: bearer(jwt) });
      expect(catalog.status).toBe(200);
      const { repositories } = JSON.parse(catalog.body.toString('utf8')) as { repositories: string[] };
      expect(repositories).toEqual(expect.arrayContaining(['public/x', 'team/dock']));
    });

    it('grants the intersection of what is asked and what the API token allows', async () => {
      const pusherJwt = await jwtFor(basic(tokens.pusher.token), [
        `repository:${REPO}:pull,push,delete`,
        'repository:team/a/b:pull', // team/* does not reach two levels down
        'repository:elsewhere/app:pull',
        'registry:catalog:*', // takes pull on **
      ]);
      const claims = jwtPayload(pusherJwt);
      expect(claims).toMatchObject({ kind: 'token', sub: 'pusher' });
      expect(claims.access).toEqual([{ type: 'repository', name: REPO, actions: ['pull', 'push'] }]);

      expect(jwtPayload(await jwtFor(basic(tokens.puller.token), [`repository:${REPO}:*`, 'repository:team/other:push'])).access).toEqual([
        { type: 'repository', name: REPO, actions: ['pull'] },
      ]);
      // Several scopes in one parameter, space separated, as some clients send them.
      expect(jwtPayload(await jwtFor(basic(ADMIN_TOKEN), [`repository:${REPO}:delete registry:catalog:*`])).access).toEqual([
        { type: 'repository', name: REPO, actions: ['delete'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ]);
      // The token carries only what it was granted: push works, delete (asked for, not granted) does not.
      const denied = await call('DELETE', `/v2/team/dock/manifests/1`, { auth: bearer(await jwtFor(basic(tokens.pusher.token), ['repository:team/dock:pull,push,delete'])) });
      expect(denied.status).toBe(403);
      expect(errorOf(denied).code).toBe('DENIED');
      expect((await tagsOf('team/dock')).tags).toEqual(['1']);
    });
  });

  describe('skopeo', () => {
    const archive = (): string => path.join(dir, 'seed.tar');

    it('pushes with a push token and inspects with a pull token; without credentials it is refused', async () => {
      await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', `x:${tokens.pusher.token}`, `docker-archive:${archive()}`, `docker://${host}/team/app:1`]);
      const head = await asAdmin('HEAD', '/v2/team/app/manifests/1', { headers: { accept: MANIFEST_ACCEPT } });
      expect(head.status).toBe(200);

      const inspected = JSON.parse(await skopeoOk(['inspect', '--tls-verify=false', '--creds', `x:${tokens.puller.token}`, `docker://${host}/team/app:1`])) as { Digest: string };
      expect(inspected.Digest).toBe(head.headers.get('docker-content-digest'));

      const anonymous = await skopeo(['inspect', '--tls-verify=false', `docker://${host}/team/app:1`]);
      expect(anonymous.ok).toBe(false);
      expect(anonymous.stderr).toContain('unauthorized: authentication required');
    });

    it('keeps anonymous pull for a client signed in with a token for other repositories', async () => {
      const inspected = JSON.parse(await skopeoOk(['inspect', '--tls-verify=false', '--creds', `x:${tokens.puller.token}`, `docker://${host}/public/x:1`])) as { Digest: string };
      expect(inspected.Digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('cannot push with a pull-only token, and leaves no trace', async () => {
      const refused = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `x:${tokens.puller.token}`, `docker-archive:${archive()}`, `docker://${host}/team/other:1`]);
      expect(refused.ok).toBe(false);
      expect(refused.stderr).toContain('denied: requested access to the resource is denied');
      const tags = await asAdmin('GET', '/v2/team/other/tags/list');
      expect(tags.status).toBe(404);
      expect(errorOf(tags).code).toBe('NAME_UNKNOWN');
      const catalog = JSON.parse((await asAdmin('GET', '/v2/_catalog')).body.toString('utf8')) as { repositories: string[] };
      expect(catalog.repositories).not.toContain('team/other');
    });
  });

  describe('a real dockerd', () => {
    let dockerd: DockerdHandle | null;
    let docker: DockerCli;
    let pushedImageId: string;

    const configJson = (): { auths?: Record<string, { auth?: string }> } => JSON.parse(readFileSync(path.join(docker.configDir, 'config.json'), 'utf8'));

    beforeAll(async () => {
      dockerd = await startDockerd();
      expect(dockerd, 'dockerd must start on this machine').not.toBeNull();
      docker = dockerCli(dockerd!.host);
      // A different image from the seed, so that pushing it uploads at least one new layer.
      const written = await writeDockerArchive(path.join(dir, 'topush.tar'), [multiLayerImage('team/pushed:2', 3)], { format: 'docker-archive-legacy' });
      pushedImageId = written.images[0].id;
      await docker.run(['load', '-i', path.join(dir, 'topush.tar')]);
    });

    afterAll(async () => {
      await docker?.dispose();
      await dockerd?.stop();
    });

    it('docker login refuses a wrong token and accepts the push token', async () => {
      const wrong = await docker.run(['login', host, '-u', 'ci', '--password-stdin'], { input: 'chk_wrong-token', allowFailure: true });
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain('unauthorized: authentication required: the credentials are not valid');
      expect(configJson().auths?.[host]).toBeUndefined();

      const login = await docker.run(['login', host, '-u', 'ci', '--password-stdin'], { input: tokens.pusher.token });
      expect(login.stdout).toContain('Login Succeeded');
      expect(configJson().auths?.[host]?.auth).toBe(Buffer.from(`ci:${tokens.pusher.token}`).toString('base64'));
    });

    it('docker pull and docker push of team/… go through the Bearer challenge', async () => {
      const pulled = await docker.run(['pull', `${host}/team/dock:1`]);
      expect(pulled.stdout).toMatch(/Status: Downloaded newer image|Status: Image is up to date/);
      expect((await docker.run(['image', 'inspect', '--format', '{{.Id}}', `${host}/team/dock:1`])).stdout.trim()).toBe(seedImageId);

      await docker.run(['tag', 'team/pushed:2', `${host}/team/pushed:2`]);
      const pushed = await docker.run(['push', `${host}/team/pushed:2`]);
      const digest = /2: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed.stdout)?.[1];
      expect(digest, pushed.stdout).toBeDefined();
      // New layers were uploaded, shared ones mounted from team/dock: both need the push token's bearer token.
      expect(pushed.stdout).toMatch(/: Pushed\n/);
      expect(pushed.stdout).toMatch(/: Mounted from team\/dock\n/);
      const head = await asAdmin('HEAD', '/v2/team/pushed/manifests/2', { headers: { accept: MANIFEST_ACCEPT } });
      expect(head.status).toBe(200);
      expect(head.headers.get('docker-content-digest')).toBe(digest);
      const manifest = await asAdmin('GET', `/v2/team/pushed/manifests/${digest}`, { headers: { accept: MANIFEST_ACCEPT } });
      expect((JSON.parse(manifest.body.toString('utf8')) as { config: { digest: string } }).config.digest).toBe(pushedImageId);
    });

    it('after docker logout, team/… is refused while public/… pulls anonymously', async () => {
      await docker.run(['logout', host]);
      expect(configJson().auths?.[host]).toBeUndefined();
      await docker.run(['rmi', `${host}/team/dock:1`, `${host}/team/pushed:2`]);

      const refused = await docker.run(['pull', `${host}/team/dock:1`], { allowFailure: true });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('unauthorized: authentication required');
      const stillThere = await docker.run(['image', 'inspect', `${host}/team/dock:1`], { allowFailure: true });
      expect(stillThere.code).not.toBe(0);

      const pulled = await docker.run(['pull', `${host}/public/x:1`]);
      expect(pulled.stdout).toMatch(/Status: Downloaded newer image|Status: Image is up to date/);
      expect((await docker.run(['image', 'inspect', '--format', '{{.Id}}', `${host}/public/x:1`])).stdout.trim()).toBe(seedImageId);
    });
  });
});

/** Blob GETs answered with a redirect to pre-signed S3 URLs (CARGOHOLD_REGISTRY_REDIRECT). */
describe('blob redirects to S3', () => {
  let s3: S3ServerHandle;
  let system: SystemHandle;
  const repo = 'redirect/app';
  const bytes = deterministicBuffer(5000, 'registry-auth-redirect');
  const digest = sha256(bytes);
  const auth = basic(ADMIN_TOKEN);

  beforeAll(async () => {
    s3 = await startS3Server();
    // Auth on here too: the redirect must come only after the credentials were checked.
    system = await startSystem({
      env: {
        CARGOHOLD_AUTH: 'on',
        CARGOHOLD_ADMIN_TOKEN: ADMIN_TOKEN,
        CARGOHOLD_BLOB_DRIVER: 's3',
        CARGOHOLD_S3_ENDPOINT: s3.endpoint,
        CARGOHOLD_S3_BUCKET: s3.bucket,
        CARGOHOLD_S3_ACCESS_KEY: s3.accessKey,
        CARGOHOLD_S3_SECRET_KEY: s3.secretKey,
        CARGOHOLD_REGISTRY_REDIRECT: 'true',
      },
    });
    const pushed = await send(system.url, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { auth, body: bytes });
    expect(pushed.status, pushed.body.toString('utf8')).toBe(201);
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    await s3?.stop();
  });

  it('GET answers 307 to a pre-signed URL on the S3 server that serves exactly the blob', async () => {
    const reply = await send(system.url, 'GET', `/v2/${repo}/blobs/${digest}`, { auth });
    expect(reply.status).toBe(307);
    expect(reply.headers.get('docker-content-digest')).toBe(digest);
    const location = new URL(reply.headers.get('location')!);
    expect(location.host).toBe(new URL(s3.endpoint).host);
    // The registry's credentials stay with the registry: the URL is signed for S3 instead.
    expect(location.username + location.password).toBe('');
    expect(location.href).not.toContain(ADMIN_TOKEN);
    expect(location.href).not.toContain(auth.slice('Basic '.length));
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);

    const followed = await fetch(location, { redirect: 'manual' });
    expect(followed.status).toBe(200);
    const received = Buffer.from(await followed.arrayBuffer());
    expect(received.equals(bytes)).toBe(true);
  });

  it('HEAD is answered by the registry itself, and nothing is redirected without credentials', async () => {
    const head = await send(system.url, 'HEAD', `/v2/${repo}/blobs/${digest}`, { auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    expect(head.headers.get('location')).toBeNull();

    const anonymous = await send(system.url, 'GET', `/v2/${repo}/blobs/${digest}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('location')).toBeNull();
    expect(errorOf(anonymous).code).toBe('UNAUTHORIZED');
  });
});
