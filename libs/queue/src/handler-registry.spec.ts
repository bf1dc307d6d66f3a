import { describe, expect, it } from 'vitest';
import { JobName, QueueName } from '@cargohold/queue-contracts';
import type { JobsOfQueue } from '@cargohold/queue-contracts';
import { HandlerRegistry } from './handler-registry';

const loadResult = { images: [] };
const PULLER_JOBS = [JobName.Load, JobName.Pull, JobName.Push, JobName.Import, JobName.Verify];

describe('HandlerRegistry', () => {
  it('names the queue and the job when a contract job has no handler', () => {
    const registry = new HandlerRegistry(QueueName.Puller);
    expect(() => registry.assertComplete()).toThrow(new Error('queue puller: no handler for job load.v1, pull.v1, push.v1, import.v1, verify.v1'));
    registry.register(JobName.Load, async () => loadResult);
    expect(() => registry.assertComplete()).toThrow(new Error('queue puller: no handler for job pull.v1, push.v1, import.v1, verify.v1'));
  });

  it('is complete once every job of the queue has a handler', () => {
    const registry = new HandlerRegistry(QueueName.Puller);
    registry.register(JobName.Load, async () => loadResult);
    registry.register(JobName.Pull, async () => ({ images: [] }));
    registry.register(JobName.Push, async () => ({ pushed: [] }));
    registry.register(JobName.Import, async () => ({ id: 'sha256:' + 'a'.repeat(64) }));
    registry.register(JobName.Verify, async () => ({ imageId: 'sha256:' + 'a'.repeat(64), verified: 0, failed: [] }));
    expect(() => registry.assertComplete()).not.toThrow();
    expect(registry.get(JobName.Load)).toBeTypeOf('function');
  });

  it('rejects a second handler for the same job', () => {
    const registry = new HandlerRegistry(QueueName.Gc);
    registry.register(JobName.ExpireStaging, async () => ({ removed: 0, bytes: 0 }));
    expect(() => registry.register(JobName.ExpireStaging, async () => ({ removed: 1, bytes: 1 }))).toThrow(
      'queue gc: a handler for job staging.expire.v1 is already registered',
    );
  });

  it('rejects a handler for a job that runs on another queue', () => {
    // Only reachable through a widened type (e.g. a WorkerHost injected without its queue parameter).
    const registry = new HandlerRegistry<QueueName>(QueueName.Gc);
    const name = JobName.Load as JobsOfQueue<QueueName>;
    expect(() => registry.register(name, async () => loadResult)).toThrow(
      'queue gc: job load.v1 belongs to queue puller; register it on that queue\'s worker',
    );
  });

  it('routes builds to the builder queue', () => {
    expect(new HandlerRegistry(QueueName.Builder).jobNames).toEqual([JobName.Build]);
  });

  it('lists the jobs of a queue from the contracts table', () => {
    expect(new HandlerRegistry(QueueName.Puller).jobNames).toEqual(PULLER_JOBS);
    expect(new HandlerRegistry(QueueName.Gc).jobNames).toEqual([JobName.Prune, JobName.Sweep, JobName.ScheduledPrune, JobName.ExpireStaging]);
  });
});
