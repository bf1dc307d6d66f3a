import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Module, type OnModuleInit } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobProducer, WorkerHost } from '@cargohold/queue';
import { JobName, QueueName } from '@cargohold/queue-contracts';
import { BLOB_STORE } from '@cargohold/storage';
import type { BlobStore } from '@cargohold/storage';
import { clearRedisPrefix, testRedisUrl, uniquePrefix } from '@cargohold/testing';
import { BlobStoreModule } from '../blob-store/blob-store.module';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { LoggingModule } from '../logging/logging.module';
import { QueueModule } from '../queue/queue.module';
import { EXPIRE_STAGING_EVERY_MS, EXPIRE_STAGING_SCHEDULER_ID } from './expire-staging.handler';
import { ExpireStagingModule } from './expire-staging.module';

/** The gc queue's other jobs are not under test here: placeholders let its worker host start. */
@Module({})
class OtherGcJobsModule implements OnModuleInit {
  constructor(private readonly worker: WorkerHost) {}

  onModuleInit(): void {
    const unused = async (): Promise<never> => {
      throw new Error('not used in this test');
    };
    (this.worker as WorkerHost<typeof QueueName.Gc>).register(JobName.Prune, unused);
    (this.worker as WorkerHost<typeof QueueName.Gc>).register(JobName.Sweep, unused);
    (this.worker as WorkerHost<typeof QueueName.Gc>).register(JobName.ScheduledPrune, unused);
  }
}

@Module({
  imports: [ConfigModule, LoggingModule.forRoot({ app: 'gc-test' }), DatabaseModule, BlobStoreModule, QueueModule.forWorker(QueueName.Gc), ExpireStagingModule, OtherGcJobsModule],
})
class GcTestModule {}

const prefix = uniquePrefix('platform-gc-it');
const savedEnv = { ...process.env };
let dataDir: string;
let app: INestApplicationContext;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'cargohold-gc-it-'));
  Object.assign(process.env, {
    CARGOHOLD_DATA_DIR: dataDir,
    CARGOHOLD_QUEUE_PREFIX: prefix,
    CARGOHOLD_LOG_LEVEL: 'silent',
    REDIS_URL: testRedisUrl(),
  });
  app = await NestFactory.createApplicationContext(GcTestModule, { logger: false, abortOnError: false });
});

afterAll(async () => {
  await app?.close();
  process.env = savedEnv;
  await clearRedisPrefix(testRedisUrl(), prefix);
  await rm(dataDir, { recursive: true, force: true });
});

describe('gc worker with ExpireStagingModule', () => {
  it('runs the worker of the gc queue with the staging.expire.v1 handler registered', () => {
    const host = app.get(WorkerHost);
    expect(host.queue).toBe(QueueName.Gc);
    expect(() => host.register(JobName.ExpireStaging, async () => ({ removed: 0, bytes: 0 }))).toThrow(/after the worker started/);
  });

  it('schedules the expiry every 10 minutes under one scheduler id', async () => {
    const queue = app.get(JobProducer).queueOf(QueueName.Gc);
    const scheduler = await queue.getJobScheduler(EXPIRE_STAGING_SCHEDULER_ID);
    expect(scheduler?.every).toBe(EXPIRE_STAGING_EVERY_MS);
    expect(await queue.getJobSchedulersCount()).toBe(1);
  });

  it('removes staged uploads older than the window, and only those', async () => {
    const store = app.get<BlobStore>(BLOB_STORE);
    await store.stage('load-stale', Readable.from([Buffer.alloc(1500, 1)]));
    await store.stage('load-fresh', Readable.from([Buffer.alloc(20, 2)]));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    await utimes(path.join(dataDir, 'blobs', 'uploads', 'load-stale'), twoHoursAgo, twoHoursAgo);

    const result = await app.get(JobProducer).follow({ name: JobName.ExpireStaging, data: { olderThanSeconds: 3600 } }, () => undefined);

    expect(result).toEqual({ removed: 1, bytes: 1500 });
    const left: string[] = [];
    for await (const staged of store.listStaged()) left.push(staged.key);
    expect(left).toEqual(['load-fresh']);
  });
});
