import { HttpException, Inject, Injectable } from '@nestjs/common';
import { JobFailedError, JobProducer } from '@cargohold/queue';
import type { JobItemOf } from '@cargohold/queue';
import type { JobName, JobResult } from '@cargohold/queue-contracts';

/**
 * Runs a gc job and waits for its result: the gateway reaches the gc service only through its
 * queue. A job that fails answers with the status its failure line carried (see
 * failureProgress; 500 otherwise) and the job's own message.
 */
@Injectable()
export class GcJobsService {
  constructor(@Inject(JobProducer) private readonly producer: JobProducer) {}

  async run<N extends JobName>(item: JobItemOf<N>): Promise<JobResult<N>> {
    let status = 500;
    try {
      return await this.producer.follow(item, (event) => {
        if (event.errorDetail?.code) status = event.errorDetail.code;
      });
    } catch (error) {
      if (error instanceof JobFailedError) throw new HttpException({ message: error.message }, status);
      throw error;
    }
  }
}
