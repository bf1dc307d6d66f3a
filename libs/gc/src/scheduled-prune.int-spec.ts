import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Module } from '@nestjs/common';
import type { INestApplicationContext, OnModuleInit, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseSettings } from '@cargohold/config';
import { openDatabase } from '@cargohold/db';
import { ConfigModule, DatabaseModule, pruneSchedulerId, PruneSchedulers, PruneSchedulesModule, PruneSchedulesRepository, QueueModule } from '@cargohold/platform';
import type { PruneScheduleSettings } from '@cargohold/platform';
import { createRedisConnection, JobFailedError, JobProducer, WorkerHost } from '@cargohold/queue';
import { JobName, QueueName } from '@cargohold/queue-contracts';
import type { DockerProgress, PruneOptions, PruneResult, SweepJob, SweepResult } from '@cargohold/queue-contracts';
import { clearRedisPrefix, createTestDatabase, testRedisUrl, uniquePrefix } from '@cargohold/testing';
import { GC_SCHEDULES_PROVIDERS } from './gc-schedules.module';
import { PruneService } from './prune.service';
import { runIdOfJob } from './scheduled-prune.service';
import { SweepService } from './sweep.service';

/** Stands in for PruneService: records each call, answers a fixed result or fails on demand. */
class FakePrune {
  readonly calls: Array<{ options: PruneOptions; at: number }> = [];
  failure: Error | undefined;

  async prune(options: PruneOptions): Promise<PruneResult> {
    this.calls.push({ options, at: Date.now() });
    if (this.failure) throw this.failure;
    return { ImagesDeleted: [{ Untagged: 'old:1' }, { Deleted: 'sha256:0123' }], CachesDeleted: [], SpaceReclaimed: 4096, dryRun: options.dryRun };
  }
}

class FakeSweep {
  readonly calls: SweepJob[] = [];

  async sweep(options: SweepJob): Promise<SweepResult> {
    this.calls.push(options);
    return { dryRun: options.dryRun, blobsScanned: 3, blobsKept: 1, blobsDeleted: 2, bytesFreed: 4096, manifestsDeleted: 1, durationMs: 5 };
  }
}

/** The gc queue's other jobs, which these tests do not run, still need a handler for the worker to start. */
@Injectable()
class OtherGcJobs implements OnModuleInit {
  constructor(@Inject(WorkerHost) private readonly host: WorkerHost<typeof QueueName.Gc>) {}

  onModuleInit(): void {
    const unused = async (): Promise<never> => {
      throw new Error('not used in these tests');
    };
    this.host.register(JobName.Prune, unused);
    this.host.register(JobName.Sweep, unused);
    this.host.register(JobName.ExpireStaging, unused);
  }
}

/** A gc process with the schedules providers and fake prune and sweep services. */
function gcModule(prune: FakePrune, sweep: FakeSweep): Type<unknown> {
  @Module({
    imports: [ConfigModule, DatabaseModule, QueueModule.forWorker(QueueName.Gc), PruneSchedulesModule],
    providers: [...GC_SCHEDULES_PROVIDERS, OtherGcJobs, { provide: PruneService, useValue: prune }, { provide: SweepService, useValue: sweep }],
  })
  class GcTestModule {}
  return GcTestModule;
}

function settings(name: string, extra: Partial<PruneScheduleSettings> = {}): PruneScheduleSettings {
  return {
    name,
    cron: null,
    everySeconds: 3600,
    timezone: null,
    options: { target: 'images', danglingOnly: false, labels: ['tier=ci'], labelsNot: [], keepNewestTags: 2 },
    sweep: true,
    sweepGraceSeconds: 120,
    dryRun: true,
    enabled: true,
    ...extra,
  };
}

const dialects: Array<{ name: string; open(dataDir: string): Promise<{ settings: DatabaseSettings; env: Record<string, string>; cleanup(): Promise<void> }> }> = [
  {
    name: 'sqlite',
    open: async (dataDir) => ({ settings: { type: 'sqlite', file: path.join(dataDir, 'cargohold.sqlite') }, env: {}, cleanup: async () => undefined }),
  },
  {
    name: 'postgres',
    open: async () => {
      const db = await createTestDatabase();
      return { settings: { type: 'postgres', url: db.url }, env: { DATABASE_URL: db.url }, cleanup: db.drop };
    },
  },
];

describe.each(dialects)('scheduled prunes in the gc on $name', ({ open }) => {
  const prefix = uniquePrefix('gc-schedules-it');
  const savedEnv = { ...process.env };
  const prune = new FakePrune();
  const sweep = new FakeSweep();
  const apps: INestApplicationContext[] = [];
  let dataDir: string;
  let cleanup: () => Promise<void>;
  let redis: Redis;
  let repository: PruneSchedulesRepository;
  let producer: JobProducer;
  const seeded: Record<'enabled' | 'disabled', string> = { enabled: '', disabled: '' };
  const deletedId = '50000000-0000-4000-8000-000000000001';

  const boot = async (): Promise<INestApplicationContext> => {
    const app = await NestFactory.createApplicationContext(gcModule(prune, sweep), { logger: false, abortOnError: false });
    apps.push(app);
    return app;
  };
  const queue = () => producer.queueOf(QueueName.Gc);
  /** Runs the schedule's job as the scheduler (or POST /run) would, collecting its progress lines. */
  const fire = async (scheduleId: string, lines: DockerProgress[] = []) =>
    producer.follow({ name: JobName.ScheduledPrune, data: { scheduleId } }, (line) => lines.push(line));

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'cargohold-gc-schedules-it-'));
    const db = await open(dataDir);
    cleanup = db.cleanup;
    Object.assign(process.env, { CARGOHOLD_DATA_DIR: dataDir, CARGOHOLD_QUEUE_PREFIX: prefix, CARGOHOLD_LOG_LEVEL: 'silent', REDIS_URL: testRedisUrl(), ...db.env });

    // What a gc finds at boot: schedules in the database, and schedulers in Redis that no longer fit.
    const ds = await openDatabase(db.settings);
    const seeding = new PruneSchedulesRepository(ds);
    seeded.enabled = (await seeding.create(settings('seed-enabled'))).id;
    seeded.disabled = (await seeding.create(settings('seed-disabled', { enabled: false }))).id;
    await ds.destroy();
    redis = createRedisConnection(testRedisUrl(), 'gc-schedules-it');
    const seeder = new JobProducer(redis, { prefix });
    for (const id of [seeded.disabled, deletedId]) await seeder.schedule(pruneSchedulerId(id), { every: 3_600_000 }, { name: JobName.ScheduledPrune, data: { scheduleId: id } });
    await seeder.close();

    const app = await boot();
    repository = app.get(PruneSchedulesRepository);
    producer = app.get(JobProducer);
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await redis?.quit();
    process.env = savedEnv;
    await clearRedisPrefix(testRedisUrl(), prefix);
    await cleanup?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    prune.calls.length = 0;
    sweep.calls.length = 0;
    prune.failure = undefined;
  });

  it('at boot, schedules every enabled schedule and removes the schedulers of disabled and deleted ones', async () => {
    const ids = (await queue().getJobSchedulers()).map((s) => s.key);
    expect(ids).toEqual([pruneSchedulerId(seeded.enabled)]);
    expect(await app0().get(PruneSchedulers).nextRunAt(seeded.enabled)).toBeGreaterThan(Date.now());
  });

  it('prunes with the schedule options and its dryRun, sweeps with its grace, and records the run with the report', async () => {
    const schedule = await repository.create(settings('full'));
    const before = Date.now();

    const report = await fire(schedule.id);

    const expected = {
      scheduleId: schedule.id,
      prune: { ImagesDeleted: [{ Untagged: 'old:1' }, { Deleted: 'sha256:0123' }], CachesDeleted: [], SpaceReclaimed: 4096, dryRun: true },
      sweep: { dryRun: true, blobsScanned: 3, blobsKept: 1, blobsDeleted: 2, bytesFreed: 4096, manifestsDeleted: 1, durationMs: 5 },
    };
    expect(report).toEqual(expected);
    expect(prune.calls.map((c) => c.options)).toEqual([{ ...schedule.options, dryRun: true }]);
    expect(sweep.calls).toEqual([{ graceSeconds: 120, dryRun: true }]);
    const runs = await repository.runs(schedule.id, 10);
    expect(runs).toEqual([{ id: expect.any(String), scheduleId: schedule.id, status: 'succeeded', startedAt: expect.any(Number), finishedAt: expect.any(Number), report: expected, error: null }]);
    expect(runs[0].startedAt).toBeGreaterThanOrEqual(before);
    expect(runs[0].finishedAt).toBeGreaterThanOrEqual(runs[0].startedAt);
  });

  it('does not sweep when the schedule says so', async () => {
    const schedule = await repository.create(settings('no-sweep', { sweep: false, dryRun: false }));
    const report = await fire(schedule.id);
    expect(report).toEqual({ scheduleId: schedule.id, prune: expect.objectContaining({ dryRun: false }) });
    expect(sweep.calls).toEqual([]);
  });

  it('records a failed run with its error, reports 500 to the follower, and does not retry', async () => {
    const schedule = await repository.create(settings('failing'));
    prune.failure = new Error('the metadata database is read-only');
    const lines: DockerProgress[] = [];

    const failed = await fire(schedule.id, lines).catch((error: unknown) => error);

    expect(failed).toBeInstanceOf(JobFailedError);
    expect((failed as Error).message).toBe('prune schedule "failing" failed: the metadata database is read-only');
    expect(lines).toEqual([{ errorDetail: { code: 500, message: (failed as Error).message }, error: (failed as Error).message }]);
    const [run] = await repository.runs(schedule.id, 10);
    expect(run).toMatchObject({ status: 'failed', error: 'the metadata database is read-only', report: null, finishedAt: expect.any(Number) });
    await sleep(300);
    expect(prune.calls).toHaveLength(1);
    expect(sweep.calls).toEqual([]);
  });

  it('skips a disabled schedule (no run recorded) and removes its leftover scheduler', async () => {
    const schedule = await repository.create(settings('disabled-later'));
    await app0().get(PruneSchedulers).apply(schedule);
    await repository.update(schedule.id, { enabled: false });
    const lines: DockerProgress[] = [];

    await expect(fire(schedule.id, lines)).rejects.toThrow('prune schedule "disabled-later" is disabled: the run is skipped');

    expect(lines[0]?.errorDetail?.code).toBe(409);
    expect(prune.calls).toEqual([]);
    expect(await repository.runs(schedule.id, 10)).toEqual([]);
    expect(await queue().getJobScheduler(pruneSchedulerId(schedule.id))).toBeUndefined();
  });

  it('skips a deleted schedule with 404', async () => {
    const lines: DockerProgress[] = [];
    await expect(fire(deletedId, lines)).rejects.toThrow(`no prune schedule with id "${deletedId}": it was deleted; the run is skipped`);
    expect(lines[0]?.errorDetail?.code).toBe(404);
    expect(prune.calls).toEqual([]);
  });

  it('keeps the newest 100 runs of a schedule', async () => {
    const schedule = await repository.create(settings('long-lived', { sweep: false }));
    for (let i = 0; i < 100; i++) await repository.startRun(runIdOfJob(`old-${i}`), schedule.id, 1_000 + i);

    await fire(schedule.id);

    const runs = await repository.runs(schedule.id, 100);
    expect(runs).toHaveLength(100);
    expect(runs[0].status).toBe('succeeded');
    expect(runs.at(-1)?.startedAt).toBe(1_001);
  });

  it('fires once per period with two gc replicas running the same schedule', async () => {
    const second = await boot();
    // One second: below the API's minimum, to see several periods quickly.
    const schedule = await repository.create(settings('busy', { everySeconds: 1, sweep: false }));
    await Promise.all([app0().get(PruneSchedulers).reconcile(), second.get(PruneSchedulers).reconcile()]);

    await sleep(3_600);
    await app0().get(PruneSchedulers).apply(await repository.update(schedule.id, { enabled: false }));

    const times = prune.calls.map((c) => c.at).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1], `gap before firing ${i}`).toBeGreaterThan(800);
    const runs = await repository.runs(schedule.id, 100);
    expect(runs.map((r) => r.status)).toEqual(times.map(() => 'succeeded'));
  });

  function app0(): INestApplicationContext {
    return apps[0];
  }
});
