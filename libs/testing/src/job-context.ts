import { randomUUID } from 'node:crypto';
import type { JobContext } from '@cargohold/queue';
import type { DockerProgress } from '@cargohold/queue-contracts';

export interface RecordingJobContext extends JobContext {
  /** Every progress line the handler reported, in order. */
  events: DockerProgress[];
}

/** The context a WorkerHost gives a handler, for calling a job's service directly in a test. */
export function recordingJobContext(overrides: Partial<JobContext> = {}): RecordingJobContext {
  const events: DockerProgress[] = [];
  return {
    jobId: randomUUID(),
    attempt: 1,
    signal: new AbortController().signal,
    progress: async (event) => {
      events.push(event);
    },
    ...overrides,
    events,
  };
}
