import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_CONFIG, loadConfig } from '@cargohold/config';
import { openDatabase } from '@cargohold/db';
import { REDIS_CONNECTION } from '@cargohold/platform';
import { pullJobSchema, pushJobSchema } from '@cargohold/queue-contracts';
import { BLOB_STORE, FilesystemBlobStore } from '@cargohold/storage';
import {
  busyboxImage,
  clearRedisPrefix,
  createTestSqliteFile,
  pushTestImage,
  type PushedTestImage,
  startRegistry,
  type TestRegistry,
  testRedisUrl,
  uniquePrefix,
  recordingJobContext,
} from '@cargohold/testing';
import { PullService } from './pull.service';
import { PushService } from './push.service';
import { RegistrySyncModule } from './registry-sync.module';

describe('RegistrySyncModule (Nest wiring, as the puller imports it)', () => {
  const prefix = uniquePrefix('registry-sync-module');
  const dir = mkdtempSync(path.join(tmpdir(), 'cargohold-registry-sync-module-'));
  const sqlite = createTestSqliteFile();
  let registry: TestRegistry;
  let image: PushedTestImage;
  let ds: DataSource;
  let redis: Redis;

  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushTestImage(registry, 'wired', 'latest', busyboxImage('wired'));
    ds = await openDatabase({ type: 'sqlite', file: sqlite.file });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await ds?.destroy();
    await clearRedisPrefix(testRedisUrl(), prefix);
    await redis?.quit();
    await registry?.stop();
    sqlite.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves both services from the app\'s globals and pulls and pushes with them', async () => {
    const config = loadConfig({ CARGOHOLD_DATA_DIR: dir, CARGOHOLD_QUEUE_PREFIX: prefix, CARGOHOLD_PULL_CONCURRENCY: '2' });
    @Global()
    @Module({
      providers: [
        { provide: DataSource, useValue: ds },
        { provide: BLOB_STORE, useValue: new FilesystemBlobStore(path.join(dir, 'blobs')) },
        { provide: REDIS_CONNECTION, useValue: redis },
        { provide: APP_CONFIG, useValue: config },
      ],
      exports: [DataSource, BLOB_STORE, REDIS_CONNECTION, APP_CONFIG],
    })
    class GlobalsModule {}
    @Module({ imports: [GlobalsModule, RegistrySyncModule] })
    class AppModule {}

    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      const puller = app.get(PullService);
      const pusher = app.get(PushService);
      const ctx = recordingJobContext({ jobId: 'wired' });
      const pulled = await puller.pull(pullJobSchema.parse({ image: `${registry.host}/wired`, tag: 'latest' }), ctx);
      expect(pulled.images[0].id).toBe(image.configDigest);
      const pushed = await pusher.push(pushJobSchema.parse({ name: `${registry.host}/wired`, tag: 'latest' }), ctx);
      expect(pushed.pushed).toEqual([{ tag: 'latest', digest: image.manifestDigest, size: image.manifestSize }]);
    } finally {
      await app.close();
    }
  });
});
