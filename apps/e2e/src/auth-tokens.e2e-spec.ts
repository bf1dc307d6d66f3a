import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, dockerCli, multiLayerImage, startSystem, writeDockerArchive } from '@cargohold/testing';

type System = Awaited<ReturnType<typeof startSystem>>;
type Cli = ReturnType<typeof dockerCli>;
type Scope = { repository: string; actions: string[] };

const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef-0123456789';

/**
 * API tokens with scopes, end to end: tokens made through /api/v1/tokens with the admin token,
 * then used by the real docker CLI (HttpHeaders in its config.json) and by plain HTTP calls
 * against a cargohold running with CARGOHOLD_AUTH=on.
 */
describe('API tokens and scopes', () => {
  let system: System;
  let dir: string;
  let busyboxId: string;
  const clis: Cli[] = [];

  const api = () => request(system.url);
  const admin = (req: request.Test) => req.set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  async function createToken(name: string, scopes: Scope[]): Promise<{ id: string; token: string }> {
    const res = await admin(api().post('/api/v1/tokens')).send({ name, scopes });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; token: string };
  }

  /** The docker CLI sending `Authorization: Bearer <token>` on every request (or nothing). */
  function dockerWith(token: string | undefined): Cli {
    const cli = dockerCli(system.dockerHost);
    if (token) writeFileSync(path.join(cli.configDir, 'config.json'), JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${token}` } }));
    clis.push(cli);
    return cli;
  }

  /**
   * The daemon's message as the CLI printed it. The CLI prints the raw JSON body (quotes
   * escaped) unless Content-Type is exactly application/json, so both forms are read here.
   */
  const shown = (stderr: string): string => stderr.replace(/\\"/g, '"');

  const imageCount = async (): Promise<number> => (await api().get('/images/json?all=1').set('Authorization', `Bearer ${ADMIN_TOKEN}`)).body.length;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-e2e-auth-'));
    const written = await writeDockerArchive(path.join(dir, 'busybox.tar'), [busyboxImage('busybox:latest')], { format: 'oci' });
    busyboxId = written.images[0].id;
    await writeDockerArchive(path.join(dir, 'app.tar'), [multiLayerImage('team/app:1', 2)], { format: 'oci' });
    system = await startSystem({ env: { CARGOHOLD_AUTH: 'on', CARGOHOLD_ADMIN_TOKEN: ADMIN_TOKEN } });
  }, 300_000);

  afterAll(async () => {
    for (const cli of clis) await cli.dispose();
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('the token API', () => {
    it('refuses calls without a valid bearer token with 401 and a challenge', async () => {
      for (const req of [api().get('/api/v1/tokens'), api().get('/api/v1/tokens').set('Authorization', 'Bearer chk_wrong'), api().post('/api/v1/tokens').auth('admin', ADMIN_TOKEN)]) {
        const res = await req;
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="cargohold"');
        expect(res.body).toEqual({ message: expect.stringMatching(/^(authentication required|the bearer token is not valid)/) });
      }
    });

    it('creates a token with the admin token and shows its secret only once', async () => {
      const res = await admin(api().post('/api/v1/tokens')).send({ name: 'ci', scopes: [{ repository: 'team/*', actions: ['push', 'pull'] }], expiresInDays: 30 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ name: 'ci', scopes: [{ repository: 'team/*', actions: ['pull', 'push'] }] });
      expect(res.body.token).toMatch(/^chk_[A-Za-z0-9_-]{43}$/);
      expect(new Date(res.body.expiresAt).getTime() - new Date(res.body.createdAt).getTime()).toBe(30 * 86_400_000);

      const list = await admin(api().get('/api/v1/tokens'));
      expect(list.status).toBe(200);
      expect(list.body.tokens.map((t: { id: string }) => t.id)).toContain(res.body.id);
      expect(JSON.stringify(list.body)).not.toContain(res.body.token);
      const one = await admin(api().get(`/api/v1/tokens/${res.body.id}`));
      expect(one.status).toBe(200);
      expect(one.body).toEqual({ ...list.body.tokens.find((t: { id: string }) => t.id === res.body.id) });
      expect(one.body).not.toHaveProperty('token');
    });

    it('lets a token with admin on ** manage tokens, and refuses others with 403', async () => {
      const manager = await createToken('manager', [{ repository: '**', actions: ['admin'] }]);
      const narrow = await createToken('narrow-admin', [{ repository: 'team/**', actions: ['admin'] }]);
      expect((await api().get('/api/v1/tokens').set('Authorization', `Bearer ${manager.token}`)).status).toBe(200);
      const refused = await api().get('/api/v1/tokens').set('Authorization', `Bearer ${narrow.token}`);
      expect(refused.status).toBe(403);
      expect(refused.body.message).toBe('the token "narrow-admin" may not manage API tokens: that takes the admin action on "**"');
    });

    it('answers 400 naming the problem, and 404 for unknown ids', async () => {
      const cases: Array<[unknown, string]> = [
        [{ name: '', scopes: [{ repository: 'a', actions: ['pull'] }] }, 'name: must not be empty'],
        [{ name: 'x', scopes: [] }, 'scopes: must hold at least one scope'],
        [{ name: 'x', scopes: [{ repository: 'app:latest', actions: ['pull'] }] }, 'scopes[0].repository: invalid repository pattern "app:latest": tags are not part'],
        [{ name: 'x', scopes: [{ repository: 'app', actions: ['fly'] }] }, 'scopes[0].actions[0]'],
        [{ name: 'x', scopes: [{ repository: 'app', actions: [] }] }, 'scopes[0].actions: must name at least one of pull, push, delete, build, admin'],
        [{ name: 'x', scopes: [{ repository: 'app', actions: ['pull'] }], expiresInDays: 0 }, 'expiresInDays'],
        [{ name: 'x'.repeat(129), scopes: [{ repository: 'app', actions: ['pull'] }] }, 'name: must be at most 128 characters'],
      ];
      for (const [body, message] of cases) {
        const res = await admin(api().post('/api/v1/tokens')).send(body as object);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.message).toContain(message);
      }
      const notJson = await admin(api().post('/api/v1/tokens')).set('Content-Type', 'application/x-tar').send('x');
      expect(notJson.status).toBe(400);
      expect(notJson.body.message).toContain('must be JSON');
      const malformed = await admin(api().post('/api/v1/tokens')).set('Content-Type', 'application/json').send('{"name":');
      expect(malformed.status).toBe(400);
      expect(malformed.body.message).toEqual(expect.any(String));

      const unknown = '00000000-0000-4000-8000-000000000000';
      for (const req of [api().get(`/api/v1/tokens/${unknown}`), api().delete(`/api/v1/tokens/${unknown}`)]) {
        const res = await admin(req);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ message: `no API token has the id "${unknown}"` });
      }
    });

    it('revokes with 204; the revoked token is listed as such and stops working', async () => {
      const doomed = await createToken('doomed', [{ repository: '**', actions: ['admin'] }]);
      expect((await api().get('/api/v1/tokens').set('Authorization', `Bearer ${doomed.token}`)).status).toBe(200);
      const res = await admin(api().delete(`/api/v1/tokens/${doomed.id}`));
      expect(res.status).toBe(204);
      expect((await admin(api().get(`/api/v1/tokens/${doomed.id}`))).body.revokedAt).toEqual(expect.any(String));
      expect((await api().get('/api/v1/tokens').set('Authorization', `Bearer ${doomed.token}`)).status).toBe(401);
    });

    it('serves its OpenAPI document without authentication', async () => {
      const res = await api().get('/api/v1/openapi.json');
      expect(res.status).toBe(200);
      expect(res.body.openapi).toMatch(/^3\./);
      expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/api/v1/tokens', '/api/v1/tokens/{id}']));
      expect(Object.keys(res.body.paths['/api/v1/tokens'])).toEqual(expect.arrayContaining(['get', 'post']));
      expect(Object.keys(res.body.paths['/api/v1/tokens/{id}'])).toEqual(expect.arrayContaining(['get', 'delete']));
      expect(res.body.components.schemas.CreateTokenDto.properties.scopes).toBeDefined();
      expect(res.body.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
      expect(res.body.paths['/api/v1/tokens'].post.security).toEqual([{ bearer: [] }]);
      expect(res.body.paths['/api/v1/openapi.json']).toBeUndefined();
    });
  });

  describe('the docker CLI', () => {
    it('is refused without a token, showing why', async () => {
      const result = await dockerWith(undefined).run(['image', 'ls'], { allowFailure: true });
      expect(result.code).not.toBe(0);
      expect(shown(result.stderr)).toContain('authentication required: send "Authorization: Bearer <API token>"');
    });

    it('loads and lists with a sufficient token', async () => {
      const loader = await createToken('loader', [{ repository: '**', actions: ['push', 'pull'] }]);
      const docker = dockerWith(loader.token);
      const loaded = await docker.run(['load', '-i', path.join(dir, 'busybox.tar')]);
      expect(loaded.stdout).toContain('Loaded image: busybox:latest');
      expect((await docker.run(['load', '-i', path.join(dir, 'app.tar')])).stdout).toContain('Loaded image: team/app:1');
      const listed = await docker.run(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
      expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining(['busybox:latest', 'team/app:1']));
    });

    it('is refused, with the scope named, by a token of the wrong scope; nothing changes', async () => {
      const before = await imageCount();
      const teamReader = await createToken('team-reader', [{ repository: 'team/*', actions: ['pull'] }]);
      const docker = dockerWith(teamReader.token);
      // Listing takes any valid token; reading an image takes pull on its repository.
      expect((await docker.run(['image', 'ls', '-q'])).code).toBe(0);
      expect((await docker.run(['image', 'inspect', 'team/app:1', '--format', '{{.Id}}'])).code).toBe(0);
      const inspect = await docker.run(['image', 'inspect', 'busybox'], { allowFailure: true });
      expect(inspect.code).not.toBe(0);
      expect(shown(inspect.stderr)).toContain('access denied: the token "team-reader" may not pull from repository "busybox"');

      const load = await docker.run(['load', '-i', path.join(dir, 'busybox.tar')], { allowFailure: true });
      expect(load.code).not.toBe(0);
      expect(shown(load.stderr)).toContain('may not push to every repository ("**")');
      const rm = await docker.run(['image', 'rm', 'team/app:1'], { allowFailure: true });
      expect(rm.code).not.toBe(0);
      expect(shown(rm.stderr)).toContain('may not delete from repository "team/app"');
      const tag = await docker.run(['tag', 'team/app:1', 'team/copy:1'], { allowFailure: true });
      expect(tag.code).not.toBe(0);
      expect(shown(tag.stderr)).toContain('may not push to repository "team/copy"');
      expect(await imageCount()).toBe(before);
      expect((await dockerWith(ADMIN_TOKEN).run(['image', 'inspect', 'team/app:1'])).code).toBe(0);
    });

    it('is refused after the token is revoked', async () => {
      const shortLived = await createToken('short-lived', [{ repository: '**', actions: ['pull'] }]);
      const docker = dockerWith(shortLived.token);
      expect((await docker.run(['image', 'ls'])).code).toBe(0);
      expect((await admin(api().delete(`/api/v1/tokens/${shortLived.id}`))).status).toBe(204);
      const after = await docker.run(['image', 'ls'], { allowFailure: true });
      expect(after.code).not.toBe(0);
      expect(shown(after.stderr)).toContain('the bearer token is not valid: unknown, expired or revoked');
    });
  });

  describe('each Docker API route class over HTTP', () => {
    let reader: string;
    let pusher: string;
    let deleter: string;

    beforeAll(async () => {
      reader = (await createToken('http-reader', [{ repository: 'busybox', actions: ['pull'] }])).token;
      pusher = (await createToken('http-pusher', [{ repository: 'busybox', actions: ['pull'] }, { repository: 'copies/*', actions: ['push'] }])).token;
      deleter = (await createToken('http-deleter', [{ repository: 'copies/*', actions: ['delete'] }])).token;
    });

    const as = (token: string | undefined, req: request.Test) => (token ? req.set('Authorization', `Bearer ${token}`) : req);

    it('leaves /_ping and /version open', async () => {
      expect((await api().get('/_ping')).status).toBe(200);
      expect((await api().head('/v1.47/_ping')).status).toBe(200);
      expect((await api().get('/v1.47/version')).status).toBe(200);
    });

    it('answers 401 in dockerd\'s shape without a valid token', async () => {
      for (const route of ['/info', '/images/json', '/images/busybox/json']) {
        // Only bearer tokens count here: Basic credentials are for the registry API.
        for (const req of [api().get(`/v1.47${route}`), as('chk_wrong', api().get(`/v1.47${route}`)), api().get(`/v1.47${route}`).auth('admin', ADMIN_TOKEN)]) {
          const res = await req;
          expect(res.status, route).toBe(401);
          expect(res.body).toEqual({ message: expect.stringMatching(/^(authentication required|the bearer token is not valid)/) });
        }
      }
    });

    it('lists and inspects by ID with any valid token, by name with pull on the repository', async () => {
      expect((await as(deleter, api().get('/info'))).status).toBe(200);
      expect((await as(deleter, api().get('/images/json'))).status).toBe(200);
      expect((await as(deleter, api().get(`/images/${busyboxId}/json`))).status).toBe(200);
      expect((await as(deleter, api().get('/images/busybox/json'))).status).toBe(403);
      expect((await as(reader, api().get('/images/busybox/json'))).status).toBe(200);
      expect((await as(reader, api().get('/images/busybox/history'))).status).toBe(200);
      expect((await as(reader, api().get('/images/team%2Fapp:1/json'))).status).toBe(403);
      expect((await as(reader, api().get('/images/get?names=busybox'))).status).toBe(200);
      const save = await as(reader, api().get('/images/get?names=busybox&names=team/app:1'));
      expect(save.status).toBe(403);
      expect(save.body).toEqual({ message: 'access denied: the token "http-reader" may not pull from repository "team/app"' });
    });

    it('tags with pull on the source and push on the target', async () => {
      const refused = await as(reader, api().post('/images/busybox/tag?repo=copies/bb&tag=1'));
      expect(refused.status).toBe(403);
      expect(refused.body.message).toBe('access denied: the token "http-reader" may not push to repository "copies/bb"');
      expect((await as(pusher, api().post('/images/busybox/tag?repo=elsewhere/bb&tag=1'))).status).toBe(403);
      expect((await as(pusher, api().post('/images/busybox/tag?repo=copies/bb&tag=1'))).status).toBe(201);
    });

    it('deletes with delete on the repository', async () => {
      expect((await as(reader, api().delete('/images/copies/bb:1'))).status).toBe(403);
      expect((await as(reader, api().delete('/images/busybox'))).status).toBe(403);
      const removed = await as(deleter, api().delete('/images/copies/bb:1'));
      expect(removed.status).toBe(200);
      expect(removed.body).toEqual([{ Untagged: 'copies/bb:1' }]);
      expect((await as(reader, api().get('/images/busybox/json'))).status).toBe(200);
    });

    it('pulls, imports and loads only with push on the target', async () => {
      const pull = await as(reader, api().post('/images/create?fromImage=127.0.0.1:1/nothing&tag=1'));
      expect(pull.status).toBe(403);
      expect(pull.body.message).toBe('access denied: the token "http-reader" may not push to repository "127.0.0.1:1/nothing"');
      const importing = await as(reader, api().post('/images/create?fromSrc=-&repo=copies/imp').set('Content-Type', 'application/x-tar').send(Buffer.alloc(1024)));
      expect(importing.status).toBe(403);
      expect(importing.body.message).toBe('access denied: the token "http-reader" may not push to repository "copies/imp"');
      // A small body: the refusal comes before the body is read, and supertest (unlike the docker
      // CLI) fails with EPIPE when the server answers a large upload early. The CLI test above
      // sends a whole archive.
      const load = await as(pusher, api().post('/images/load').set('Content-Type', 'application/x-tar').send(readFileSync(path.join(dir, 'busybox.tar')).subarray(0, 4096)));
      expect(load.status).toBe(403);
      expect(load.body.message).toBe('access denied: the token "http-pusher" may not push to every repository ("**"), which this request needs');
    });

  });
});
