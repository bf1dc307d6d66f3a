import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationBootstrap, OnApplicationShutdown, Provider } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG } from '@cargohold/config';
import type { AppConfig } from '@cargohold/config';
import { createRedisConnection, DEFAULT_REDIS_URL, JobProducer, WorkerHost } from '@cargohold/queue';
import type { QueueName } from '@cargohold/queue-contracts';
import { REDIS_CONNECTION } from './redis-connection.token';
import { WorkerHostFactory } from './worker-host.factory';

@Injectable()
class QueueConnectionsCloser implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS_CONNECTION) private readonly connection: Redis,
    @Inject(JobProducer) private readonly producer: JobProducer,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.producer.close();
    // QUIT waits for Redis; when Redis is gone, do not hold shutdown hostage.
    await Promise.race([this.connection.quit().catch(() => undefined), sleep(2_000)]);
    this.connection.disconnect();
  }
}

/** Starts the worker once every module has registered its handlers (all onModuleInit hooks ran). */
@Injectable()
class WorkerHostStarter implements OnApplicationBootstrap {
  constructor(@Inject(WorkerHost) private readonly host: WorkerHost) {}

  onApplicationBootstrap(): Promise<void> {
    return this.host.start();
  }
}

const logger = new Logger('Redis');

const sharedProviders: Provider[] = [
  {
    provide: REDIS_CONNECTION,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig): Redis => {
      const connection = createRedisConnection(config.redisUrl ?? DEFAULT_REDIS_URL, 'cargohold');
      // ioredis reconnects by itself; without a listener every failed attempt would crash the process.
      connection.on('error', (error: Error) => logger.warn(`${config.redisUrl ?? DEFAULT_REDIS_URL}: ${error.message}`));
      return connection;
    },
  },
  {
    provide: JobProducer,
    inject: [REDIS_CONNECTION, APP_CONFIG],
    useFactory: (connection: Redis, config: AppConfig) =>
      new JobProducer(connection, { prefix: config.queuePrefix, logger: new Logger('JobProducer') }),
  },
  WorkerHostFactory,
  QueueConnectionsCloser,
];

/**
 * BullMQ for the app: REDIS_CONNECTION, JobProducer and WorkerHostFactory, global.
 * `forRoot()` for producers only (gateway); `forWorker(queue)` also provides the injectable
 * WorkerHost of that queue, which feature modules register handlers on in onModuleInit and
 * which starts in onApplicationBootstrap.
 */
@Module({})
export class QueueModule {
  static forRoot(): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      providers: sharedProviders,
      exports: [REDIS_CONNECTION, JobProducer, WorkerHostFactory],
    };
  }

  static forWorker(queue: QueueName): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      providers: [
        ...sharedProviders,
        { provide: WorkerHost, inject: [WorkerHostFactory], useFactory: (factory: WorkerHostFactory) => factory.create(queue) },
        WorkerHostStarter,
      ],
      exports: [REDIS_CONNECTION, JobProducer, WorkerHostFactory, WorkerHost],
    };
  }
}
