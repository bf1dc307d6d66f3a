import { JobName } from '@cargohold/queue-contracts';
import type { SweepResult } from '@cargohold/queue-contracts';

/** A sweep that ran (not a dry run) and when it finished. */
export interface SweepRecord {
  /** Epoch milliseconds. */
  finishedAt: number;
  result: SweepResult;
}

function isSweepResult(value: unknown): value is SweepResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.dryRun === 'boolean' &&
    ['blobsScanned', 'blobsKept', 'blobsDeleted', 'bytesFreed', 'manifestsDeleted', 'durationMs'].every((key) => Number.isFinite(v[key]))
  );
}

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The sweep a finished gc job reports, if it swept for real: `sweep.v1` returns a SweepResult,
 * `prune.scheduled.v1` one under `sweep` when its schedule sweeps. Results are read from Redis
 * (JSON text); anything that does not have the shape is ignored.
 */
export function sweepOfJobResult(jobName: string, returnvalue: unknown): SweepResult | undefined {
  const value = parseJson(returnvalue);
  let sweep: unknown;
  if (jobName === JobName.Sweep) sweep = value;
  else if (jobName === JobName.ScheduledPrune) sweep = typeof value === 'object' && value !== null ? (value as { sweep?: unknown }).sweep : undefined;
  return isSweepResult(sweep) && !sweep.dryRun ? sweep : undefined;
}

/** The sweep in a prune schedule run's report (`prune_run.report`, a ScheduledPruneResult), if it swept for real. */
export function sweepOfRunReport(report: unknown): SweepResult | undefined {
  return sweepOfJobResult(JobName.ScheduledPrune, report);
}

/** The sweep that finished last among those found. */
export function newestSweep(records: ReadonlyArray<SweepRecord | undefined>): SweepRecord | undefined {
  let newest: SweepRecord | undefined;
  for (const record of records) if (record && (!newest || record.finishedAt > newest.finishedAt)) newest = record;
  return newest;
}
