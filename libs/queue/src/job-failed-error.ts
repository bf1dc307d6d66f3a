/** A followed job failed for good; `message` is the handler's own error message. */
export class JobFailedError extends Error {
  constructor(
    readonly jobId: string,
    readonly jobName: string,
    reason: string | undefined,
  ) {
    super(reason || `job ${jobName} failed without a reason`);
    this.name = 'JobFailedError';
  }
}
