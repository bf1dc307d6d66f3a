import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { BLOB_STORE } from '@cargohold/storage';
import type { BlobStore } from '@cargohold/storage';
import { REDIS_CONNECTION } from '../queue/redis-connection.token';
import { runReadinessChecks } from './readiness.util';
import type { ReadinessReport } from './readiness.util';

/** Per-dependency bound; a load balancer's probe usually gives up after 5 s. */
const CHECK_TIMEOUT_MS = 3_000;

/** Asks each dependency the gateway cannot serve without whether it answers. */
@Injectable()
export class ReadinessService {
  constructor(
    @Inject(REDIS_CONNECTION) private readonly redis: Redis,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  check(): Promise<ReadinessReport> {
    return runReadinessChecks(
      {
        redis: async () => {
          // While ioredis reconnects, PING would only queue until the timeout: say why at once.
          if (this.redis.status !== 'ready') throw new Error(`connection ${this.redis.status}`);
          await this.redis.ping();
        },
        database: async () => {
          await this.dataSource.query('SELECT 1');
        },
        blobStore: () => this.blobs.ping(),
      },
      CHECK_TIMEOUT_MS,
    );
  }
}
