import { describe, expect, it } from 'vitest';
import { JobName } from '@cargohold/queue-contracts';
import { InvalidJobPayloadError, isJobName, parseJobPayload } from './job-payload.util';

describe('parseJobPayload', () => {
  it('applies the schema defaults', () => {
    expect(parseJobPayload(JobName.Load, { archiveKey: 'load/abc' })).toEqual({ archiveKey: 'load/abc', quiet: false });
    expect(parseJobPayload(JobName.ExpireStaging, {})).toEqual({ olderThanSeconds: 24 * 3600 });
  });

  it('names the job and each bad field', () => {
    const parse = (): unknown => parseJobPayload(JobName.Load, { archiveKey: '', quiet: 'yes' });
    expect(parse).toThrow(InvalidJobPayloadError);
    expect(parse).toThrow(/^invalid payload for job load\.v1: archiveKey: .+; quiet: .+$/);
  });

  it('rejects a payload that is not an object', () => {
    expect(() => parseJobPayload(JobName.ExpireStaging, 'soon')).toThrow(/^invalid payload for job staging\.expire\.v1: \(payload\): /);
  });
});

describe('isJobName', () => {
  it('knows the contract names only', () => {
    expect(isJobName('load.v1')).toBe(true);
    expect(isJobName('load.v0')).toBe(false);
  });
});
