import { Inject, Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG } from '@cargohold/config';
import type { AppConfig } from '@cargohold/config';
import { WorkerHost } from '@cargohold/queue';
import { QueueName } from '@cargohold/queue-contracts';
import { REDIS_CONNECTION } from './redis-connection.token';

/**
 * Builds WorkerHosts wired to the app's Redis, prefix and concurrency, and closes them before
 * the rest of the app shuts down, so running jobs are handed back while DB and store still work.
 */
@Injectable()
export class WorkerHostFactory implements BeforeApplicationShutdown {
  private readonly hosts: WorkerHost[] = [];
  private readonly logger = new Logger('Bootstrap');

  constructor(
    @Inject(REDIS_CONNECTION) private readonly connection: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  create<Q extends QueueName>(queue: Q): WorkerHost<Q> {
    const host = new WorkerHost(queue, this.connection, {
      prefix: this.config.queuePrefix,
      // Builds hold a sandbox and scratch space each: they have their own bound.
      concurrency: queue === QueueName.Builder ? this.config.build.concurrency : this.config.jobConcurrency,
      logger: new Logger(`WorkerHost:${queue}`),
      // A worker that dies keeps its jobs for at most this long before another replica takes them.
      tuning: { lockDuration: this.config.jobLockMs, stalledInterval: this.config.jobLockMs },
    });
    this.hosts.push(host);
    return host;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(
      this.hosts.map(async (host) => {
        await host.close();
        this.logger.log(`worker ${host.queue} stopped`);
      }),
    );
  }
}
