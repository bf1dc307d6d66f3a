import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, PruneRunEntity } from '@cargohold/db';
import { createRedisConnection, JobProducer } from '@cargohold/queue';
import { JobName, QueueName } from '@cargohold/queue-contracts';
import type { ScheduledPruneResult } from '@cargohold/queue-contracts';
import { clearRedisPrefix, createTestSqliteFile, TEST_DIALECTS, testRedisUrl, uniquePrefix } from '@cargohold/testing';
import { PruneScheduleNameTakenError, PruneScheduleNotFoundError } from './prune-schedules.errors';
import { PruneSchedulesRepository } from './prune-schedules.repository';
import { PruneSchedulers, pruneSchedulerId } from './prune-schedulers.service';
import type { PruneScheduleSettings } from './prune-schedule.types';

function settings(name: string, extra: Partial<PruneScheduleSettings> = {}): PruneScheduleSettings {
  return {
    name,
    cron: null,
    everySeconds: 3600,
    timezone: null,
    options: { target: 'images', danglingOnly: false, labels: ['a=b'], labelsNot: [], keepNewestTags: 2 },
    sweep: true,
    sweepGraceSeconds: 600,
    dryRun: false,
    enabled: true,
    ...extra,
  };
}

const report = (scheduleId: string): ScheduledPruneResult => ({
  scheduleId,
  prune: { ImagesDeleted: [{ Untagged: 'app:1' }, { Deleted: 'sha256:aa' }], CachesDeleted: [], SpaceReclaimed: 5_368_709_120, dryRun: false },
});

describe.each(TEST_DIALECTS)('prune schedules repository on $name', ({ open }) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let repository: PruneSchedulesRepository;

  beforeAll(async () => {
    const db = await open();
    cleanup = db.cleanup;
    ds = await openDatabase(db.settings);
    repository = new PruneSchedulesRepository(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    await cleanup?.();
  });

  it('creates, reads, lists by name and updates schedules, booleans and options intact', async () => {
    const b = await repository.create(settings('b-weekly', { cron: '0 3 * * 0', everySeconds: null, timezone: 'Europe/Berlin', sweep: false, dryRun: true }), 1_000);
    const a = await repository.create(settings('a-hourly'), 2_000);
    expect(b).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), ...settings('b-weekly', { cron: '0 3 * * 0', everySeconds: null, timezone: 'Europe/Berlin', sweep: false, dryRun: true }), createdAt: 1_000, updatedAt: 1_000 });
    expect(await repository.get(b.id)).toEqual(b);
    expect((await repository.list()).map((s) => s.name)).toEqual(['a-hourly', 'b-weekly']);

    const changed = await repository.update(a.id, { enabled: false, everySeconds: 120, options: { target: 'build-cache', danglingOnly: true, labels: [], labelsNot: [] } }, 3_000);
    expect(changed).toEqual({ ...a, enabled: false, everySeconds: 120, options: { target: 'build-cache', danglingOnly: true, labels: [], labelsNot: [] }, updatedAt: 3_000 });
    expect(await repository.get(a.id)).toEqual(changed);
  });

  it('refuses a name in use, on create and on rename', async () => {
    const taken = await repository.create(settings('taken'));
    const other = await repository.create(settings('other'));
    await expect(repository.create(settings('taken'))).rejects.toThrow(new PruneScheduleNameTakenError('taken'));
    await expect(repository.update(other.id, { name: 'taken' })).rejects.toBeInstanceOf(PruneScheduleNameTakenError);
    expect(await repository.update(taken.id, { name: 'taken' })).toMatchObject({ name: 'taken' });
  });

  it('answers PruneScheduleNotFoundError for unknown ids', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    expect(await repository.find(id)).toBeNull();
    await expect(repository.get(id)).rejects.toThrow(new PruneScheduleNotFoundError(id));
    await expect(repository.update(id, { enabled: false })).rejects.toBeInstanceOf(PruneScheduleNotFoundError);
    await expect(repository.delete(id)).rejects.toBeInstanceOf(PruneScheduleNotFoundError);
    await expect(repository.runs(id, 10)).rejects.toBeInstanceOf(PruneScheduleNotFoundError);
  });

  it('records runs, lists them newest first, restarts a run id seen before, and finishes them', async () => {
    const schedule = await repository.create(settings('runs'));
    await repository.startRun('10000000-0000-4000-8000-000000000001', schedule.id, 10_000);
    await repository.startRun('10000000-0000-4000-8000-000000000002', schedule.id, 20_000);
    await repository.finishRun('10000000-0000-4000-8000-000000000001', { status: 'failed', error: 'disk on fire' }, 11_000);
    await repository.finishRun('10000000-0000-4000-8000-000000000002', { status: 'succeeded', report: report(schedule.id) }, 21_000);

    expect(await repository.runs(schedule.id, 10)).toEqual([
      { id: '10000000-0000-4000-8000-000000000002', scheduleId: schedule.id, status: 'succeeded', startedAt: 20_000, finishedAt: 21_000, report: report(schedule.id), error: null },
      { id: '10000000-0000-4000-8000-000000000001', scheduleId: schedule.id, status: 'failed', startedAt: 10_000, finishedAt: 11_000, report: null, error: 'disk on fire' },
    ]);
    expect(await repository.runs(schedule.id, 1)).toHaveLength(1);

    await repository.startRun('10000000-0000-4000-8000-000000000001', schedule.id, 30_000);
    const [again] = await repository.runs(schedule.id, 1);
    expect(again).toEqual({ id: '10000000-0000-4000-8000-000000000001', scheduleId: schedule.id, status: 'running', startedAt: 30_000, finishedAt: null, report: null, error: null });
  });

  it('keeps only the newest runs of a schedule, leaving other schedules alone', async () => {
    const [one, two] = [await repository.create(settings('trim-1')), await repository.create(settings('trim-2'))];
    for (let i = 0; i < 5; i++) await repository.startRun(`20000000-0000-4000-8000-00000000000${i}`, one.id, 1_000 + i);
    await repository.startRun('20000000-0000-4000-8000-000000000009', two.id, 1);

    expect(await repository.trimRuns(one.id, 3)).toBe(2);
    expect((await repository.runs(one.id, 10)).map((r) => r.startedAt)).toEqual([1_004, 1_003, 1_002]);
    expect(await repository.trimRuns(one.id, 3)).toBe(0);
    expect(await repository.runs(two.id, 10)).toHaveLength(1);
  });

  it('deletes a schedule with its runs', async () => {
    const schedule = await repository.create(settings('gone'));
    await repository.startRun('30000000-0000-4000-8000-000000000001', schedule.id);
    await repository.delete(schedule.id);
    expect(await repository.find(schedule.id)).toBeNull();
    expect(await ds.manager.countBy(PruneRunEntity, { scheduleId: schedule.id })).toBe(0);
    // A run finishing after its schedule went is no error.
    await expect(repository.finishRun('30000000-0000-4000-8000-000000000001', { status: 'failed', error: 'x' })).resolves.toBeUndefined();
  });
});

describe('prune schedulers in BullMQ', () => {
  let ds: DataSource;
  let sqlite: ReturnType<typeof createTestSqliteFile>;
  let repository: PruneSchedulesRepository;
  let connection: Redis;
  let producer: JobProducer;
  let schedulers: PruneSchedulers;
  const prefix = uniquePrefix('prune-schedulers-it');

  beforeAll(async () => {
    sqlite = createTestSqliteFile();
    ds = await openDatabase({ type: 'sqlite', file: sqlite.file });
    repository = new PruneSchedulesRepository(ds);
    connection = createRedisConnection(testRedisUrl(), 'prune-schedulers-it');
    producer = new JobProducer(connection, { prefix });
    schedulers = new PruneSchedulers(producer, repository);
  });

  afterEach(async () => {
    for (const schedule of await repository.list()) await repository.delete(schedule.id);
    for (const scheduler of await producer.queueOf(QueueName.Gc).getJobSchedulers()) await producer.queueOf(QueueName.Gc).removeJobScheduler(scheduler.key);
  });

  afterAll(async () => {
    await producer?.close();
    await connection?.quit();
    await clearRedisPrefix(testRedisUrl(), prefix);
    await ds?.destroy();
    sqlite?.cleanup();
  });

  const queue = () => producer.queueOf(QueueName.Gc);

  it('schedules a period to start one period from now, with only the schedule id as payload', async () => {
    const before = Date.now();
    const schedule = await repository.create(settings('every', { everySeconds: 120 }));
    await schedulers.apply(schedule);
    const next = await schedulers.nextRunAt(schedule.id);
    expect(next).toBeGreaterThanOrEqual(before + 120_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 120_000);
    const scheduler = await queue().getJobScheduler(pruneSchedulerId(schedule.id));
    expect(scheduler).toMatchObject({ name: JobName.ScheduledPrune, every: 120_000, template: { data: { scheduleId: schedule.id } } });

    // Applying again (another replica, or a PATCH that kept the period) keeps the slot.
    await schedulers.apply(schedule);
    expect(await schedulers.nextRunAt(schedule.id)).toBe(next);
    expect(await queue().getDelayedCount()).toBe(1);
  });

  it('schedules a cron pattern in its zone, UTC by default, and removes the scheduler of a disabled schedule', async () => {
    const utc = await repository.create(settings('utc', { cron: '0 3 * * *', everySeconds: null }));
    const tokyo = await repository.create(settings('tokyo', { cron: '0 3 * * *', everySeconds: null, timezone: 'Asia/Tokyo' }));
    await schedulers.apply(utc);
    await schedulers.apply(tokyo);
    expect(new Date((await schedulers.nextRunAt(utc.id))!).toISOString()).toMatch(/T03:00:00\.000Z$/);
    expect(new Date((await schedulers.nextRunAt(tokyo.id))!).toISOString()).toMatch(/T18:00:00\.000Z$/);

    await schedulers.apply(await repository.update(utc.id, { enabled: false }));
    expect(await schedulers.nextRunAt(utc.id)).toBeNull();
    expect(await queue().getJobSchedulersCount()).toBe(1);
  });

  it('reconciles: schedules every enabled schedule, removes schedulers of deleted and disabled ones, leaves others alone', async () => {
    const enabled = await repository.create(settings('on'));
    const disabled = await repository.create(settings('off', { enabled: false }));
    await producer.schedule(pruneSchedulerId(disabled.id), { every: 60_000 }, { name: JobName.ScheduledPrune, data: { scheduleId: disabled.id } });
    const deletedId = '40000000-0000-4000-8000-000000000001';
    await producer.schedule(pruneSchedulerId(deletedId), { every: 60_000 }, { name: JobName.ScheduledPrune, data: { scheduleId: deletedId } });
    await producer.schedule('staging.expire', { every: 60_000 }, { name: JobName.ExpireStaging, data: {} });

    expect(await schedulers.reconcile()).toEqual({ scheduled: 1, removed: 2 });
    const ids = (await queue().getJobSchedulers()).map((s) => s.key).sort();
    expect(ids).toEqual([pruneSchedulerId(enabled.id), 'staging.expire'].sort());
    expect(await schedulers.reconcile()).toEqual({ scheduled: 1, removed: 0 });
  });
});
