import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, startSystem, writeDockerArchive } from '@cargohold/testing';

type System = Awaited<ReturnType<typeof startSystem>>;

const ADMIN_TOKEN = 'e2e-admin-token-prune-schedules-0123456789';

/**
 * Prune schedules through the native API against a running cargohold with authentication on:
 * the gateway stores them and keeps their BullMQ job schedulers, the gc runs them.
 */
describe('prune schedules', () => {
  let system: System;
  let dir: string;
  let danglingId: string;
  let keptId: string;
  let scheduleId: string;

  const api = () => request(system.url);
  const admin = (req: request.Test) => req.set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  /** `docker load` over HTTP; the answer is a JSON stream. */
  async function load(file: string): Promise<void> {
    const res = await fetch(`${system.url}/images/load`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/x-tar' },
      body: readFileSync(file),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).toContain('Loaded image');
    expect(text).not.toContain('errorDetail');
  }

  async function imageIds(): Promise<string[]> {
    const res = await admin(api().get('/images/json?all=1'));
    return (res.body as Array<{ Id: string }>).map((image) => image.Id).sort();
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-e2e-prune-schedules-'));
    // Loading a tag onto another image leaves the first one dangling: something for the prune.
    const first = await writeDockerArchive(path.join(dir, 'old.tar'), [{ ...busyboxImage('sched:1'), config: { Env: ['V=1'] } }], { format: 'oci' });
    const second = await writeDockerArchive(path.join(dir, 'new.tar'), [{ ...busyboxImage('sched:1'), config: { Env: ['V=2'] } }], { format: 'oci' });
    danglingId = first.images[0].id;
    keptId = second.images[0].id;
    system = await startSystem({ env: { CARGOHOLD_AUTH: 'on', CARGOHOLD_ADMIN_TOKEN: ADMIN_TOKEN } });
    await load(path.join(dir, 'old.tar'));
    await load(path.join(dir, 'new.tar'));
  }, 300_000);

  afterAll(async () => {
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses calls without a token (401) and tokens without admin on ** (403)', async () => {
    const missing = await api().get('/api/v1/prune-schedules');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="cargohold"');
    const created = await admin(api().post('/api/v1/tokens')).send({ name: 'puller', scopes: [{ repository: '**', actions: ['pull', 'push', 'delete'] }] });
    expect(created.status).toBe(201);
    const bearer = `Bearer ${created.body.token as string}`;
    for (const req of [
      api().get('/api/v1/prune-schedules'),
      api().post('/api/v1/prune-schedules').send({ name: 'x', everySeconds: 60 }),
      api().post('/api/v1/gc/sweep').send({ dryRun: true }),
      api().post('/api/v1/gc/prune').send({ dryRun: true }),
    ]) {
      const res = await req.set('Authorization', bearer);
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/^the token "puller" may not (manage prune schedules|run the gc): that takes the admin action on "\*\*"$/);
    }
  });

  it('creates a schedule with its defaults, scheduled one period ahead, and refuses bad ones', async () => {
    const before = Date.now();
    const res = await admin(api().post('/api/v1/prune-schedules')).send({ name: 'e2e-every-minute', everySeconds: 60, sweepGraceSeconds: 0 });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({
      name: 'e2e-every-minute',
      cron: null,
      everySeconds: 60,
      timezone: null,
      options: { target: 'images', danglingOnly: true, labels: [], labelsNot: [] },
      sweep: true,
      sweepGraceSeconds: 0,
      dryRun: false,
      enabled: true,
    });
    scheduleId = res.body.id;
    const next = Date.parse(res.body.nextRunAt);
    expect(next).toBeGreaterThanOrEqual(before + 60_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 60_000);

    const cases: Array<[unknown, number, string]> = [
      [{ name: 'both', cron: '0 3 * * *', everySeconds: 60 }, 400, 'give either cron or everySeconds, not both'],
      [{ name: 'fast', everySeconds: 10 }, 400, 'everySeconds: must be at least 60'],
      [{ name: 'bad-cron', cron: '61 * * * *' }, 400, 'cron: invalid pattern "61 * * * *"'],
      [{ name: 'e2e-every-minute', everySeconds: 120 }, 409, 'a prune schedule named "e2e-every-minute" already exists'],
    ];
    for (const [body, status, message] of cases) {
      const refused = await admin(api().post('/api/v1/prune-schedules')).send(body as object);
      expect(refused.status, JSON.stringify(body)).toBe(status);
      expect(refused.body.message).toContain(message);
    }
  });

  it('runs the schedule now: the dangling image goes, and the run with its report is listed', async () => {
    expect(await imageIds()).toEqual([danglingId, keptId].sort());

    const res = await admin(api().post(`/api/v1/prune-schedules/${scheduleId}/run`));

    expect(res.status, res.text).toBe(200);
    const report = res.body;
    expect(report).toMatchObject({ scheduleId, prune: { dryRun: false, CachesDeleted: [] }, sweep: { dryRun: false } });
    expect(report.prune.ImagesDeleted).toContainEqual({ Deleted: danglingId });
    expect(report.prune.ImagesDeleted).not.toContainEqual({ Deleted: keptId });
    expect(report.sweep.blobsDeleted).toBeGreaterThanOrEqual(1);
    expect(await imageIds()).toEqual([keptId]);

    const runs = await admin(api().get(`/api/v1/prune-schedules/${scheduleId}/runs?limit=5`));
    expect(runs.status).toBe(200);
    expect(runs.body.runs).toEqual([
      { id: expect.any(String), scheduleId, status: 'succeeded', startedAt: expect.any(String), finishedAt: expect.any(String), report, error: null },
    ]);
  });

  it('lists schedules with their next run, and PATCH enabled=false removes the job scheduler', async () => {
    const listed = await admin(api().get('/api/v1/prune-schedules'));
    expect(listed.status).toBe(200);
    expect(listed.body.schedules).toEqual([expect.objectContaining({ id: scheduleId, enabled: true, nextRunAt: expect.any(String) })]);

    const disabled = await admin(api().patch(`/api/v1/prune-schedules/${scheduleId}`)).send({ enabled: false });
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toMatchObject({ id: scheduleId, enabled: false, nextRunAt: null, everySeconds: 60 });
    expect((await admin(api().get(`/api/v1/prune-schedules/${scheduleId}`))).body.nextRunAt).toBeNull();
    const refused = await admin(api().post(`/api/v1/prune-schedules/${scheduleId}/run`));
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe('prune schedule "e2e-every-minute" is disabled: enable it to run it');

    const cron = await admin(api().patch(`/api/v1/prune-schedules/${scheduleId}`)).send({ enabled: true, cron: '0 3 * * *' });
    expect(cron.status, cron.text).toBe(200);
    expect(cron.body).toMatchObject({ enabled: true, cron: '0 3 * * *', everySeconds: null });
    expect(cron.body.nextRunAt).toMatch(/T03:00:00\.000Z$/);
  });

  it('runs a prune and a sweep directly through /api/v1/gc', async () => {
    const prune = await admin(api().post('/api/v1/gc/prune')).send({ dryRun: true, danglingOnly: false });
    expect(prune.status, prune.text).toBe(200);
    expect(prune.body).toMatchObject({ dryRun: true, ImagesDeleted: expect.any(Array), CachesDeleted: expect.any(Array), SpaceReclaimed: expect.any(Number) });
    expect(await imageIds()).toEqual([keptId]);

    const sweep = await admin(api().post('/api/v1/gc/sweep'));
    expect(sweep.status, sweep.text).toBe(200);
    expect(sweep.body).toMatchObject({ dryRun: false, blobsScanned: expect.any(Number), blobsDeleted: 0, durationMs: expect.any(Number) });

    const bad = await admin(api().post('/api/v1/gc/sweep')).send({ graceSeconds: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('graceSeconds');
  });

  it('deletes a schedule: 204, then 404', async () => {
    const res = await admin(api().delete(`/api/v1/prune-schedules/${scheduleId}`));
    expect(res.status).toBe(204);
    for (const req of [api().get(`/api/v1/prune-schedules/${scheduleId}`), api().get(`/api/v1/prune-schedules/${scheduleId}/runs`), api().delete(`/api/v1/prune-schedules/${scheduleId}`)]) {
      const gone = await admin(req);
      expect(gone.status).toBe(404);
      expect(gone.body.message).toBe(`no prune schedule with id "${scheduleId}"`);
    }
    expect((await admin(api().get('/api/v1/prune-schedules'))).body.schedules).toEqual([]);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = await api().get('/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/prune-schedules', '/api/v1/prune-schedules/{id}', '/api/v1/prune-schedules/{id}/runs', '/api/v1/prune-schedules/{id}/run', '/api/v1/gc/prune', '/api/v1/gc/sweep']),
    );
    expect(Object.keys(doc.body.paths['/api/v1/prune-schedules/{id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
    expect(doc.body.components.schemas.CreatePruneScheduleDto.properties).toHaveProperty('everySeconds');
  });
});
