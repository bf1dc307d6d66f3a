import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobName, QueueName } from '@cargohold/queue-contracts';
import type { DockerProgress, LoadResult } from '@cargohold/queue-contracts';
import { clearRedisPrefix, startRedisServer, testRedisUrl, uniquePrefix } from '@cargohold/testing';
import { InvalidJobPayloadError } from './job-payload.util';
import { JobFailedError } from './job-failed-error';
import { JobProducer } from './job-producer';
import { PermanentJobError } from './permanent-job-error';
import type { QueueLogger } from './queue-logger';
import { createRedisConnection } from './redis-connection.util';
import { WorkerHost } from './worker-host';

const quiet: QueueLogger = process.env.QDEBUG ? { log: console.log, warn: console.warn, error: console.error } : { log: () => undefined, warn: () => undefined, error: () => undefined };

let prefix: string;
let connection: Redis;
let producer: JobProducer;
const hosts: WorkerHost[] = [];

const unused = async (): Promise<never> => {
  throw new Error('not used in these tests');
};

function newHost<Q extends QueueName>(queue: Q): WorkerHost<Q> {
  const host = new WorkerHost(queue, connection, { prefix, concurrency: 2, logger: quiet });
  hosts.push(host);
  if (queue === QueueName.Puller) {
    // These tests drive load.v1; the puller's other jobs need a handler for the host to start.
    const puller = host as unknown as WorkerHost<typeof QueueName.Puller>;
    puller.register(JobName.Pull, unused);
    puller.register(JobName.Push, unused);
    puller.register(JobName.Import, unused);
    puller.register(JobName.Verify, unused);
  }
  if (queue === QueueName.Gc) registerUnusedGcJobs(host as unknown as WorkerHost<typeof QueueName.Gc>);
  return host;
}

/** These tests drive staging.expire.v1; the gc's other jobs need a handler for the host to start. */
function registerUnusedGcJobs(host: WorkerHost<typeof QueueName.Gc>): void {
  host.register(JobName.Prune, unused);
  host.register(JobName.Sweep, unused);
  host.register(JobName.ScheduledPrune, unused);
}

function loaded(...ids: string[]): LoadResult {
  return { images: ids.map((id) => ({ id, tags: [] })) };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

beforeEach(() => {
  prefix = uniquePrefix('queue-it');
  connection = createRedisConnection(testRedisUrl(), 'cargohold-queue-it');
  producer = new JobProducer(connection, { prefix, logger: quiet, jobDefaults: { backoff: { type: 'fixed', delay: 50 } } });
});

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close()));
  await producer.close();
  await connection.quit();
  await clearRedisPrefix(testRedisUrl(), prefix);
});

describe('enqueue → handle → result', () => {
  it('runs the handler with the validated payload and resolves follow with its result', async () => {
    const host = newHost(QueueName.Puller);
    const seen: unknown[] = [];
    host.register(JobName.Load, async (data, context) => {
      seen.push({ data, attempt: context.attempt, jobId: context.jobId });
      return loaded(`sha256:${data.archiveKey}`);
    });
    await host.start();

    const result = await producer.follow({ name: JobName.Load, data: { archiveKey: 'k1' } }, () => undefined, undefined, {
      jobId: 'load-k1',
    });

    expect(result).toEqual(loaded('sha256:k1'));
    expect(seen).toEqual([{ data: { archiveKey: 'k1', quiet: false }, attempt: 1, jobId: 'load-k1' }]);
  });

  it('enqueue returns the job id and the job is stored under the configured prefix', async () => {
    const id = await producer.enqueue({ name: JobName.ExpireStaging, data: { olderThanSeconds: 60 } });
    const job = await producer.queueOf(QueueName.Gc).getJob(id);
    expect(job?.name).toBe(JobName.ExpireStaging);
    expect(job?.data).toEqual({ olderThanSeconds: 60 });
    expect(await connection.exists(`${prefix}:gc:${id}`)).toBe(1);
  });

  it('relays every progress event to follow, in order', async () => {
    const host = newHost(QueueName.Puller);
    const sent: DockerProgress[] = Array.from({ length: 30 }, (_, i) => ({
      status: 'Loading layer',
      id: `layer${i % 3}`,
      progressDetail: { current: i + 1, total: 30 },
    }));
    host.register(JobName.Load, async (_data, context) => {
      for (const event of sent) await context.progress(event);
      return loaded('sha256:p');
    });
    await host.start();

    const received: DockerProgress[] = [];
    const result = await producer.follow({ name: JobName.Load, data: { archiveKey: 'p' } }, (event) => received.push(event));

    expect(result).toEqual(loaded('sha256:p'));
    expect(received).toEqual(sent);
  });

  it('does not run a job twice when the same job id is enqueued again, and follow still gets its result', async () => {
    const host = newHost(QueueName.Puller);
    let runs = 0;
    host.register(JobName.Load, async () => {
      runs += 1;
      return loaded('sha256:once');
    });
    await host.start();
    const item = { name: JobName.Load, data: { archiveKey: 'same' } };

    const first = await producer.follow(item, () => undefined, undefined, { jobId: 'load-same' });
    const again = await producer.follow(item, () => undefined, undefined, { jobId: 'load-same' });
    await producer.enqueue(item, { jobId: 'load-same' });

    expect(first).toEqual(loaded('sha256:once'));
    expect(again).toEqual(first);
    await sleep(200);
    expect(runs).toBe(1);
  });
});

describe('failures', () => {
  it('fails at once, without retries, when the handler throws PermanentJobError', async () => {
    const host = newHost(QueueName.Puller);
    let runs = 0;
    host.register(JobName.Load, async () => {
      runs += 1;
      throw new PermanentJobError('archive is not a tar file', { status: 415 });
    });
    await host.start();

    const lines: DockerProgress[] = [];
    const following = producer.follow({ name: JobName.Load, data: { archiveKey: 'bad' } }, (p) => lines.push(p), undefined, {
      jobId: 'load-bad',
    });

    await expect(following).rejects.toThrow(new JobFailedError('load-bad', JobName.Load, 'archive is not a tar file'));
    // The failure and its HTTP status reach the follower first, for the gateway to answer with.
    expect(lines).toEqual([{ errorDetail: { code: 415, message: 'archive is not a tar file' }, error: 'archive is not a tar file' }]);
    await expect(following).rejects.toBeInstanceOf(JobFailedError);
    const job = await producer.queueOf(QueueName.Puller).getJob('load-bad');
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    await sleep(300);
    expect(runs).toBe(1);
  });

  it('retries other errors with backoff and succeeds when a later attempt does', async () => {
    const host = newHost(QueueName.Puller);
    const attempts: number[] = [];
    host.register(JobName.Load, async (_data, context) => {
      attempts.push(context.attempt);
      if (context.attempt < 3) throw new Error('connection reset by blob store');
      return loaded('sha256:third-time');
    });
    await host.start();

    const result = await producer.follow({ name: JobName.Load, data: { archiveKey: 'flaky' } }, () => undefined);

    expect(result).toEqual(loaded('sha256:third-time'));
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('rejects follow with the last error message once the attempts are used up', async () => {
    const host = newHost(QueueName.Puller);
    let runs = 0;
    host.register(JobName.Load, async () => {
      runs += 1;
      throw new Error(`blob store unreachable (run ${runs})`);
    });
    await host.start();

    await expect(producer.follow({ name: JobName.Load, data: { archiveKey: 'down' } }, () => undefined)).rejects.toThrow(
      'blob store unreachable (run 3)',
    );
    expect(runs).toBe(3);
  });
});

describe('payload validation', () => {
  it('refuses an invalid payload before it reaches Redis', async () => {
    const bad = { name: JobName.Load, data: { archiveKey: '' } };
    await expect(producer.enqueue(bad)).rejects.toBeInstanceOf(InvalidJobPayloadError);
    await expect(producer.follow(bad, () => undefined)).rejects.toThrow(/^invalid payload for job load\.v1: archiveKey: /);
    const counts = await producer.queueOf(QueueName.Puller).getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('fails a job whose stored payload is invalid permanently, without calling the handler', async () => {
    const host = newHost(QueueName.Puller);
    let runs = 0;
    host.register(JobName.Load, async () => {
      runs += 1;
      return loaded();
    });
    await host.start();
    // A producer that skipped validation (or an older payload version) wrote this.
    const queue = producer.queueOf(QueueName.Puller);
    await queue.add(JobName.Load, { archiveKey: 42 }, { jobId: 'raw-invalid' });

    await until(async () => (await queue.getJobState('raw-invalid')) === 'failed', 'the invalid job failed');
    const job = await queue.getJob('raw-invalid');
    expect(job?.failedReason).toMatch(/^invalid payload for job load\.v1: archiveKey: /);
    expect(job?.attemptsMade).toBe(1);
    expect(runs).toBe(0);
  });

  it('fails a job with an unknown name permanently', async () => {
    const host = newHost(QueueName.Puller);
    host.register(JobName.Load, async () => loaded());
    await host.start();
    const queue = producer.queueOf(QueueName.Puller);
    await queue.add('load.v0', { archiveKey: 'old' }, { jobId: 'raw-unknown' });

    await until(async () => (await queue.getJobState('raw-unknown')) === 'failed', 'the unknown job failed');
    const job = await queue.getJob('raw-unknown');
    expect(job?.failedReason).toBe('queue puller: no handler for job load.v0');
    expect(job?.attemptsMade).toBe(1);
  });
});

describe('worker lifecycle', () => {
  it('refuses to start while a job of its queue has no handler', async () => {
    await expect(newHost(QueueName.Puller).start()).rejects.toThrow('queue puller: no handler for job load.v1');
  });

  it('aborts running handlers on close and puts their jobs back without spending an attempt', async () => {
    const first = newHost(QueueName.Puller);
    let started = false;
    let abortedWith: unknown;
    first.register(JobName.Load, async (_data, context) => {
      started = true;
      await new Promise((_resolve, reject) =>
        context.signal.addEventListener('abort', () => {
          abortedWith = context.signal.reason;
          reject(context.signal.reason);
        }),
      );
      return loaded('sha256:not-reached');
    });
    await first.start();
    const following = producer.follow({ name: JobName.Load, data: { archiveKey: 'long' } }, () => undefined, undefined, {
      jobId: 'load-long',
    });
    await until(() => started, 'the handler started');
    await first.close();

    const queue = producer.queueOf(QueueName.Puller);
    expect(await queue.getJobState('load-long')).toBe('waiting');
    expect((await queue.getJob('load-long'))?.attemptsMade).toBe(0);
    expect(abortedWith).toEqual(new Error('worker of queue puller is shutting down'));

    const second = newHost(QueueName.Puller);
    second.register(JobName.Load, async (_data, context) => loaded(`sha256:attempt-${context.attempt}`));
    await second.start();
    await expect(following).resolves.toEqual(loaded('sha256:attempt-1'));
  });

  it('stops following when the caller aborts, leaving the job to finish', async () => {
    const host = newHost(QueueName.Puller);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    host.register(JobName.Load, async (_data, context) => {
      await context.progress({ status: 'Loading' });
      await gate;
      return loaded('sha256:done');
    });
    await host.start();
    const controller = new AbortController();
    const received: DockerProgress[] = [];

    const following = producer.follow(
      { name: JobName.Load, data: { archiveKey: 'gone' } },
      (event) => {
        received.push(event);
        controller.abort(new Error('client went away'));
      },
      controller.signal,
      { jobId: 'load-gone' },
    );

    await expect(following).rejects.toThrow('client went away');
    release();
    const queue = producer.queueOf(QueueName.Puller);
    await until(async () => (await queue.getJobState('load-gone')) === 'completed', 'the job completed');
    expect(received).toEqual([{ status: 'Loading' }]);
  });
});

describe('job schedulers', () => {
  it('keeps one scheduler per id however often it is upserted, and its jobs reach the handler', async () => {
    const host = newHost(QueueName.Gc);
    const runs: number[] = [];
    host.register(JobName.ExpireStaging, async (data) => {
      runs.push(data.olderThanSeconds);
      return { removed: 0, bytes: 0 };
    });
    await host.start();

    const item = { name: JobName.ExpireStaging, data: { olderThanSeconds: 5 } };
    await Promise.all([producer.schedule('expire', { every: 60_000 }, item), producer.schedule('expire', { every: 60_000 }, item)]);
    await producer.schedule('expire', { every: 60_000 }, item);

    const queue = producer.queueOf(QueueName.Gc);
    expect(await queue.getJobSchedulersCount()).toBe(1);
    await until(() => runs.length > 0, 'the first scheduled job ran');
    await sleep(300);
    expect(runs).toEqual([5]);
  });

  it('unschedule removes the scheduler and its pending job, so nothing fires any more', async () => {
    const host = newHost(QueueName.Gc);
    const runs: number[] = [];
    host.register(JobName.ExpireStaging, async (data) => {
      runs.push(data.olderThanSeconds);
      return { removed: 0, bytes: 0 };
    });
    const startDate = Date.now() + 1_000;
    await producer.schedule('expire', { every: 60_000, startDate }, { name: JobName.ExpireStaging, data: { olderThanSeconds: 7 } });
    const queue = producer.queueOf(QueueName.Gc);
    expect(await producer.nextRunOf('expire', JobName.ExpireStaging)).toBe(startDate);
    expect(await queue.getDelayedCount()).toBe(1);

    expect(await producer.unschedule('expire', JobName.ExpireStaging)).toBe(true);

    expect(await queue.getJobSchedulersCount()).toBe(0);
    expect(await queue.getDelayedCount()).toBe(0);
    expect(await producer.nextRunOf('expire', JobName.ExpireStaging)).toBeUndefined();
    expect(await producer.unschedule('expire', JobName.ExpireStaging)).toBe(false);
    await host.start();
    await sleep(1_500);
    expect(runs).toEqual([]);
  });

  it('validates the scheduled payload', async () => {
    await expect(
      producer.schedule('bad', { every: 1_000 }, { name: JobName.ExpireStaging, data: { olderThanSeconds: -1 } }),
    ).rejects.toBeInstanceOf(InvalidJobPayloadError);
  });
});

describe('on a throwaway redis-server', () => {
  it('runs a job end to end, and the server is gone after stop()', async () => {
    const server = await startRedisServer();
    const own = createRedisConnection(server.url, 'cargohold-queue-it-own');
    const ownProducer = new JobProducer(own, { prefix: 'cargohold', logger: quiet });
    const host = new WorkerHost(QueueName.Gc, own, { prefix: 'cargohold', concurrency: 1, logger: quiet });
    try {
      host.register(JobName.ExpireStaging, async (data) => ({ removed: data.olderThanSeconds, bytes: 0 }));
      registerUnusedGcJobs(host);
      await host.start();
      await expect(ownProducer.follow({ name: JobName.ExpireStaging, data: { olderThanSeconds: 7 } }, () => undefined)).resolves.toEqual({
        removed: 7,
        bytes: 0,
      });
      expect(await own.dbsize()).toBeGreaterThan(0);
    } finally {
      await host.close();
      await ownProducer.close();
      await own.quit();
      await server.stop();
    }
    const probe = createRedisConnection(server.url, 'cargohold-queue-it-probe');
    probe.on('error', () => undefined);
    const refused = await Promise.race([
      new Promise<boolean>((resolve) => probe.once('error', () => resolve(true))),
      sleep(5_000).then(() => false),
    ]);
    probe.disconnect();
    expect(refused).toBe(true);
  });
});

describe('cancellation', () => {
  it('aborts the running handler on the worker that has it when the follower cancels, and does not retry', async () => {
    const host = newHost(QueueName.Puller);
    let started = false;
    let aborted = false;
    let runs = 0;
    host.register(JobName.Load, async (_data, context) => {
      runs += 1;
      started = true;
      await new Promise((_resolve, reject) =>
        context.signal.addEventListener('abort', () => {
          aborted = true;
          reject(context.signal.reason);
        }),
      );
      return loaded('sha256:not-reached');
    });
    await host.start();
    const controller = new AbortController();
    const following = producer.follow({ name: JobName.Load, data: { archiveKey: 'cancel-me' } }, () => undefined, controller.signal, {
      jobId: 'load-cancel',
      cancelOnAbort: true,
    });
    await until(() => started, 'the handler started');
    controller.abort(new Error('client disconnected'));
    await expect(following).rejects.toThrow('client disconnected');
    await until(() => aborted, 'the handler saw the abort');
    const queue = producer.queueOf(QueueName.Puller);
    await until(async () => (await queue.getJobState('load-cancel')) === 'failed', 'the job failed');
    expect((await queue.getJob('load-cancel'))?.failedReason).toMatch(/cancelled/);
    await sleep(200);
    expect(runs).toBe(1);
  });

  it('removes a job that is still waiting', async () => {
    const controller = new AbortController();
    const following = producer.follow({ name: JobName.Load, data: { archiveKey: 'never-run' } }, () => undefined, controller.signal, {
      jobId: 'load-waiting',
      cancelOnAbort: true,
    });
    const queue = producer.queueOf(QueueName.Puller);
    await until(async () => (await queue.getJobState('load-waiting')) === 'waiting', 'the job is waiting');
    controller.abort(new Error('client disconnected'));
    await expect(following).rejects.toThrow('client disconnected');
    await until(async () => (await queue.getJob('load-waiting')) === undefined, 'the job is gone');
  });
});
