import { setTimeout as delay } from 'node:timers/promises';

// Answers worth repeating: server hiccups, throttling, dropped connections. s3rver, for one,
// answers a bulk delete with 500 when two deletes race to clean up the same empty folder.
const TRANSIENT_CODES = new Set(['InternalError', 'SlowDown', 'ServiceUnavailable', 'RequestTimeout', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
// minio 8 turns 408/429/5xx answers into a plain Error (the S3 code is lost) with this message.
const RETRYABLE_STATUS = /Retryable HTTP status: \d{3}/;

/** The S3 error code (`NoSuchKey`, `InternalError`, …) or the socket error code, if any. */
export function s3ErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** HEAD answers a bare 404 (`NotFound`); GET answers `NoSuchKey`. */
export function isS3NotFound(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code === 'NotFound' || code === 'NoSuchKey';
}

export function isS3Transient(error: unknown): boolean {
  const code = s3ErrorCode(error);
  if (code !== undefined) return TRANSIENT_CODES.has(code);
  return error instanceof Error && RETRYABLE_STATUS.test(error.message);
}

/** Run an idempotent S3 call, repeating it with backoff on transient failures. */
export async function withS3Retry<T>(operation: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isS3Transient(error)) throw error;
      await delay(25 * 2 ** attempt);
    }
  }
}
