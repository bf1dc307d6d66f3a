import { Inject, Injectable } from '@nestjs/common';
import type { JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import { REDIS_CONNECTION } from '@cargohold/platform';
import { JobProducer } from '@cargohold/queue';
import { QueueName } from '@cargohold/queue-contracts';

/**
 * Every state a BullMQ job can be in. `completed` and `failed` count the finished jobs still
 * retained (DEFAULT_JOB_OPTIONS trims them by age and count), not every job that ever finished.
 */
export const JOB_STATES: readonly JobState[] = ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed'];

export type QueueCounts = Record<QueueName, Record<JobState, number>>;

/** Job counts by state of every cargohold queue, read from Redis (one call per queue). */
@Injectable()
export class QueueCountsRepository {
  constructor(
    @Inject(JobProducer) private readonly producer: JobProducer,
    @Inject(REDIS_CONNECTION) private readonly redis: Redis,
  ) {}

  async counts(): Promise<QueueCounts> {
    // While ioredis reconnects, commands only queue until the scrape's budget runs out: say why at once.
    if (this.redis.status !== 'ready') throw new Error(`Redis connection ${this.redis.status}`);
    const queues = Object.values(QueueName);
    const counts = await Promise.all(queues.map((queue) => this.producer.queueOf(queue).getJobCounts(...JOB_STATES)));
    return Object.fromEntries(
      queues.map((queue, i) => [queue, Object.fromEntries(JOB_STATES.map((state) => [state, counts[i][state] ?? 0]))]),
    ) as QueueCounts;
  }
}
