export const DEFAULT_RETRIES = 4;
export const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 10_000;
/** A Retry-After longer than this is not waited for: the request fails instead. */
const RETRY_AFTER_MAX_MS = 30_000;

/**
 * Delay before retry number `attempt` (0-based): base · 2^attempt, plus up to half of that again
 * at random so that replicas retrying together spread out; capped at 10 s.
 */
export function backoffDelay(attempt: number, baseMs = BACKOFF_BASE_MS, random: () => number = Math.random): number {
  const exponential = Math.min(baseMs * 2 ** attempt, BACKOFF_MAX_MS);
  return Math.round(exponential + exponential * 0.5 * random());
}

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date), or null if absent, unreadable or too long. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = /^\s*(\d+)\s*$/.exec(header);
  const ms = seconds ? Number(seconds[1]) * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return null;
  const clamped = Math.max(0, ms);
  return clamped <= RETRY_AFTER_MAX_MS ? clamped : null;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error an aborted signal carries (an AbortError DOMException unless a reason was given). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(typeof reason === 'string' ? reason : 'This operation was aborted', 'AbortError');
}
