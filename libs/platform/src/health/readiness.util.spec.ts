import { describe, expect, it } from 'vitest';
import { runReadinessChecks } from './readiness.util';

describe('runReadinessChecks', () => {
  it('reports ok with each check up and its latency', async () => {
    const report = await runReadinessChecks({ redis: async () => undefined, database: async () => undefined }, 1_000);
    expect(report.status).toBe('ok');
    expect(report.failed).toBeUndefined();
    expect(Object.keys(report.checks)).toEqual(['redis', 'database']);
    for (const check of Object.values(report.checks)) {
      expect(check.status).toBe('up');
      expect(check.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('names the failed dependency and its error', async () => {
    const report = await runReadinessChecks(
      {
        redis: async () => undefined,
        database: async () => {
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        },
      },
      1_000,
    );
    expect(report.status).toBe('unavailable');
    expect(report.failed).toEqual(['database']);
    expect(report.message).toBe('not ready: database (connect ECONNREFUSED 127.0.0.1:5432)');
    expect(report.checks.redis.status).toBe('up');
    expect(report.checks.database).toMatchObject({ status: 'down', error: 'connect ECONNREFUSED 127.0.0.1:5432' });
  });

  it('counts a probe that does not answer in time as down', async () => {
    const started = Date.now();
    const report = await runReadinessChecks({ blobStore: () => new Promise<void>(() => undefined) }, 50);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(report.failed).toEqual(['blobStore']);
    expect(report.checks.blobStore.error).toBe('no answer within 50 ms');
    expect(report.checks.blobStore.latencyMs).toBeGreaterThanOrEqual(40);
  });

  it('treats a probe that throws synchronously as down, not as a crash', async () => {
    const report = await runReadinessChecks(
      {
        redis: () => {
          throw new Error('connection is closed');
        },
      },
      1_000,
    );
    expect(report.checks.redis).toMatchObject({ status: 'down', error: 'connection is closed' });
  });
});
