import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { ImageStoreModule } from '@cargohold/image-store';
import { REDIS_CONNECTION } from '@cargohold/platform';
import { BLOB_DOWNLOAD_LOCK } from './blob-download-lock';
import { PullService } from './pull.service';
import { PushService } from './push.service';
import { RedisBlobDownloadLock } from './redis-blob-download-lock';
import { REGISTRY_SYNC_OPTIONS, registrySyncOptionsFromConfig } from './registry-sync.options';
import { RegistrySyncRepository } from './registry-sync.repository';
import { VerifyService } from './verify.service';

/**
 * The services of the pull, push and verify jobs (`pull.v1`, `push.v1`, `verify.v1`); the puller
 * registers them on its worker host. Needs in scope: a DataSource, BLOB_STORE, REDIS_CONNECTION (QueueModule) and
 * APP_CONFIG; uses the global RegistryClient when one is provided (RegistryClientModule), else
 * builds its own from the config.
 */
@Module({
  imports: [ImageStoreModule],
  providers: [
    RegistrySyncRepository,
    {
      provide: REGISTRY_SYNC_OPTIONS,
      inject: [{ token: APP_CONFIG, optional: true }],
      useFactory: (config?: AppConfig) => (config ? registrySyncOptionsFromConfig(config) : {}),
    },
    {
      provide: BLOB_DOWNLOAD_LOCK,
      inject: [REDIS_CONNECTION, { token: APP_CONFIG, optional: true }],
      useFactory: (redis: Redis, config?: AppConfig) => new RedisBlobDownloadLock(redis, { prefix: config?.queuePrefix }),
    },
    PullService,
    PushService,
    VerifyService,
  ],
  exports: [PullService, PushService, VerifyService],
})
export class RegistrySyncModule {}
