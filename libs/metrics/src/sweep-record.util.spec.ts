import { describe, expect, it } from 'vitest';
import type { SweepResult } from '@cargohold/queue-contracts';
import { newestSweep, sweepOfJobResult, sweepOfRunReport } from './sweep-record.util';

const SWEEP: SweepResult = { dryRun: false, blobsScanned: 40, blobsKept: 30, blobsDeleted: 10, bytesFreed: 123_456, manifestsDeleted: 2, durationMs: 420 };
const PRUNE = { ImagesDeleted: [{ Deleted: 'sha256:aa' }], CachesDeleted: [], SpaceReclaimed: 10, dryRun: false };

describe('sweepOfJobResult', () => {
  it('reads the result of a sweep.v1 job, as Redis keeps it (JSON text) or parsed', () => {
    expect(sweepOfJobResult('sweep.v1', JSON.stringify(SWEEP))).toEqual(SWEEP);
    expect(sweepOfJobResult('sweep.v1', SWEEP)).toEqual(SWEEP);
  });

  it('reads the sweep of a scheduled prune that swept', () => {
    expect(sweepOfJobResult('prune.scheduled.v1', JSON.stringify({ scheduleId: 's', prune: PRUNE, sweep: SWEEP }))).toEqual(SWEEP);
    expect(sweepOfJobResult('prune.scheduled.v1', JSON.stringify({ scheduleId: 's', prune: PRUNE }))).toBeUndefined();
  });

  it('ignores dry runs, other jobs and anything without the shape', () => {
    expect(sweepOfJobResult('sweep.v1', JSON.stringify({ ...SWEEP, dryRun: true }))).toBeUndefined();
    expect(sweepOfJobResult('prune.v1', JSON.stringify(SWEEP))).toBeUndefined();
    expect(sweepOfJobResult('sweep.v1', '{"truncated')).toBeUndefined();
    expect(sweepOfJobResult('sweep.v1', null)).toBeUndefined();
    expect(sweepOfJobResult('sweep.v1', JSON.stringify({ ...SWEEP, bytesFreed: 'lots' }))).toBeUndefined();
    expect(sweepOfJobResult('prune.scheduled.v1', JSON.stringify({ sweep: null }))).toBeUndefined();
  });
});

describe('sweepOfRunReport', () => {
  it('reads the sweep out of a prune_run report', () => {
    expect(sweepOfRunReport(JSON.stringify({ scheduleId: 's', prune: PRUNE, sweep: SWEEP }))).toEqual(SWEEP);
    expect(sweepOfRunReport(JSON.stringify({ scheduleId: 's', prune: { ...PRUNE, dryRun: true }, sweep: { ...SWEEP, dryRun: true } }))).toBeUndefined();
    expect(sweepOfRunReport(null)).toBeUndefined();
  });
});

describe('newestSweep', () => {
  it('picks the sweep that finished last, wherever it was found', () => {
    const older = { finishedAt: 1_000, result: SWEEP };
    const newer = { finishedAt: 2_000, result: { ...SWEEP, blobsDeleted: 1 } };
    expect(newestSweep([older, newer])).toBe(newer);
    expect(newestSweep([newer, older])).toBe(newer);
    expect(newestSweep([undefined, older])).toBe(older);
    expect(newestSweep([undefined, undefined])).toBeUndefined();
  });
});
