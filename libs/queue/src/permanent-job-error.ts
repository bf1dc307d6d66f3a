import { UnrecoverableError } from 'bullmq';

/**
 * Thrown by a handler when retrying cannot help (bad input, an archive that is not an image):
 * the job fails at once with this message instead of using its remaining attempts.
 * BullMQ recognises it because it extends UnrecoverableError.
 */
export class PermanentJobError extends UnrecoverableError {
  /**
   * The HTTP status dockerd answers for this failure (400 bad input, 404 unknown image or
   * manifest, 401 refused credentials…). The worker host reports it to the follower as a
   * failure line (see failureProgress), so the gateway can answer with it.
   */
  readonly status: number;

  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message);
    this.name = 'PermanentJobError';
    this.status = options?.status ?? 400;
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
