import { UnrecoverableError } from 'bullmq';

/**
 * Thrown by a handler when retrying cannot help (bad input, an archive that is not an image):
 * the job fails at once with this message instead of using its remaining attempts.
 * BullMQ recognises it because it extends UnrecoverableError.
 */
export class PermanentJobError extends UnrecoverableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'PermanentJobError';
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
