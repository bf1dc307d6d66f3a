import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { JobProducer, WorkerHost } from '@cargohold/queue';
import { JobName } from '@cargohold/queue-contracts';
import type { ExpireStagingResult, JobData, QueueName } from '@cargohold/queue-contracts';
import type { JobContext } from '@cargohold/queue';
import { ExpireStagingService } from './expire-staging.service';

/** Scheduler id in Redis: stable, so every gc replica upserts the same one. */
export const EXPIRE_STAGING_SCHEDULER_ID = 'staging.expire';
export const EXPIRE_STAGING_EVERY_MS = 10 * 60_000;

/** Registers the `staging.expire.v1` handler on the gc worker and schedules it every 10 minutes. */
@Injectable()
export class ExpireStagingHandler implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('ExpireStaging');

  constructor(
    @Inject(WorkerHost) private readonly host: WorkerHost<typeof QueueName.Gc>,
    @Inject(JobProducer) private readonly producer: JobProducer,
    @Inject(ExpireStagingService) private readonly service: ExpireStagingService,
  ) {}

  onModuleInit(): void {
    this.host.register(JobName.ExpireStaging, (data, context) => this.handle(data, context));
  }

  async onApplicationBootstrap(): Promise<void> {
    // The payload is left empty so the contract's default grace window applies.
    await this.producer.schedule(EXPIRE_STAGING_SCHEDULER_ID, { every: EXPIRE_STAGING_EVERY_MS }, { name: JobName.ExpireStaging, data: {} });
  }

  private async handle(data: JobData<typeof JobName.ExpireStaging>, context: JobContext): Promise<ExpireStagingResult> {
    const result = await this.service.expire(data.olderThanSeconds, { signal: context.signal });
    if (result.removed > 0) this.logger.log(`removed ${result.removed} staged uploads (${result.bytes} bytes) older than ${data.olderThanSeconds} s`);
    return result;
  }
}
