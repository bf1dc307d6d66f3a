import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, hostileArchive, startSystem } from '@cargohold/testing';

type System = Awaited<ReturnType<typeof startSystem>>;

/** Error paths of the Docker API: dockerd's statuses and texts, and nothing changed. */
describe('Docker API error cases', () => {
  let system: System;
  let docker: ReturnType<typeof dockerCli>;

  beforeAll(async () => {
    system = await startSystem();
    docker = dockerCli(system.dockerHost);
  }, 300_000);
  afterAll(async () => {
    await system?.stop();
  });

  it('answers /_ping on versioned and unversioned paths, GET and HEAD', async () => {
    for (const p of ['/_ping', '/v1.47/_ping', '/v1.24/_ping']) {
      const res = await request(system.url).get(p);
      expect(res.status).toBe(200);
      expect(res.text).toBe('OK');
      expect(res.headers['api-version']).toBe('1.47');
    }
    const head = await request(system.url).head('/_ping');
    expect(head.status).toBe(200);
    expect(head.headers['api-version']).toBe('1.47');
  });

  it('404 with dockerd\'s text for a missing image', async () => {
    const res = await request(system.url).get('/v1.47/images/nope/json');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: 'No such image: nope:latest' });
    const hist = await request(system.url).get('/images/sha256:' + 'a'.repeat(64) + '/history');
    expect(hist.status).toBe(404);
    expect(hist.body.message).toBe(`No such image: sha256:${'a'.repeat(64)}`);
    const del = await request(system.url).delete('/images/127.0.0.1:5000/some/repo:tag');
    expect(del.status).toBe(404);
    expect(del.body.message).toBe('No such image: 127.0.0.1:5000/some/repo:tag');
  });

  it('400 for malformed references and filters', async () => {
    const upper = await request(system.url).get('/images/Busybox/json');
    expect(upper.status).toBe(400);
    expect(upper.body.message).toContain('invalid reference format');
    const filter = await request(system.url).get('/images/json').query({ filters: '{"colour":{"red":true}}' });
    expect(filter.status).toBe(400);
    expect(filter.body.message).toBe("invalid filter 'colour'");
    const dangling = await request(system.url).get('/images/json').query({ filters: '{"dangling":{"maybe":true}}' });
    expect(dangling.status).toBe(400);
    expect(dangling.body.message).toBe("invalid filter 'dangling=maybe'");
    const until = await request(system.url).get('/images/json').query({ filters: '{"until":{"someday":true}}' });
    expect(until.status).toBe(400);
  });

  it('tag refuses bad targets and missing sources', async () => {
    const missing = await request(system.url).post('/images/nope/tag').query({ repo: 'x', tag: '1' });
    expect(missing.status).toBe(404);
    const bad = await request(system.url).post('/images/nope/tag').query({ repo: 'UPPER', tag: '1' });
    expect(bad.status).toBe(400);
    const digest = await request(system.url).post('/images/nope/tag').query({ repo: `x@sha256:${'b'.repeat(64)}` });
    expect(digest.status).toBe(400);
    expect(digest.body.message).toBe('refusing to create a tag with a digest reference');
  });

  it('save of an unknown image is a 404 before any byte of tar', async () => {
    const res = await request(system.url).get('/images/get').query({ names: 'nope:1' });
    expect(res.status).toBe(404);
    expect(res.body.message).toBe('No such image: nope:1');
  });

  const kinds = ['traversal', 'symlink-escape', 'hardlink-escape', 'device', 'bomb', 'truncated', 'garbage', 'bad-diffid', 'missing-layer'] as const;
  for (const kind of kinds) {
    it(`docker load refuses a hostile archive (${kind}) and changes nothing`, async () => {
      const before = (await docker.run(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout;
      const file = await hostileArchive(kind);
      const out = await docker.run(['load', '-i', file], { allowFailure: true });
      expect(out.code, out.stdout + out.stderr).not.toBe(0);
      expect(out.stderr.length + out.stdout.length).toBeGreaterThan(0);
      expect((await docker.run(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout).toBe(before);
    });
  }

  it('a hostile archive posted directly gets an errorDetail line', async () => {
    const body = readFileSync(await hostileArchive('traversal'));
    const res = await request(system.url).post('/images/load').set('content-type', 'application/x-tar').send(body);
    expect(res.status).toBe(200);
    const last = JSON.parse(res.text.trim().split('\n').pop() as string);
    expect(last.errorDetail.message).toMatch(/escapes|outside|traversal|\.\./);
  });
});
