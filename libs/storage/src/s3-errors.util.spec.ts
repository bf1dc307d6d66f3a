import { describe, expect, it } from 'vitest';
import { isS3NotFound, isS3Transient, withS3Retry } from './s3-errors.util';

function s3Error(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('S3 error classification', () => {
  it('knows not-found answers', () => {
    expect(isS3NotFound(s3Error('NotFound'))).toBe(true);
    expect(isS3NotFound(s3Error('NoSuchKey'))).toBe(true);
    expect(isS3NotFound(s3Error('AccessDenied'))).toBe(false);
    expect(isS3NotFound(undefined)).toBe(false);
  });

  it('treats server errors, throttling and resets as transient, and nothing else', () => {
    expect(isS3Transient(s3Error('InternalError'))).toBe(true);
    expect(isS3Transient(s3Error('SlowDown'))).toBe(true);
    expect(isS3Transient(s3Error('ECONNRESET'))).toBe(true);
    expect(isS3Transient(new Error('Request failed after 0 retries: Error: Retryable HTTP status: 500'))).toBe(true);
    expect(isS3Transient(s3Error('NoSuchKey'))).toBe(false);
    expect(isS3Transient(s3Error('AccessDenied'))).toBe(false);
    expect(isS3Transient(new Error('boom'))).toBe(false);
  });
});

describe('withS3Retry', () => {
  it('repeats transient failures until the call succeeds', async () => {
    let calls = 0;
    const result = await withS3Retry(async () => {
      calls++;
      if (calls < 3) throw s3Error('InternalError');
      return 'done';
    });
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('gives up after the last attempt and on permanent errors at once', async () => {
    let calls = 0;
    await expect(
      withS3Retry(async () => {
        calls++;
        throw s3Error('SlowDown');
      }, 2),
    ).rejects.toThrow('SlowDown');
    expect(calls).toBe(2);

    calls = 0;
    await expect(
      withS3Retry(async () => {
        calls++;
        throw s3Error('AccessDenied');
      }),
    ).rejects.toThrow('AccessDenied');
    expect(calls).toBe(1);
  });
});
