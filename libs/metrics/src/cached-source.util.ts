import { performance } from 'node:perf_hooks';

export interface CachedSourceOptions {
  /** A loaded value is served this long after its load finished, without asking again. */
  ttlMs: number;
  /** A read waits at most this long for a load in flight. */
  budgetMs: number;
  /** Milliseconds on a monotonic clock (tests pass their own). */
  now?: () => number;
}

export type SourceReading<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * One piece of scrape-time state (counts from the database, job counts from Redis …), read so
 * that a scrape stays cheap whatever the source does:
 *
 * - a value is reused for `ttlMs` after its load finished, so N replicas scraped every few
 *   seconds by several Prometheus servers still ask the database at most once per `ttlMs` each;
 * - at most one load is in flight: scrapes arriving meanwhile share it, so a slow database
 *   never sees loads pile up;
 * - a read gives up after `budgetMs` and reports the source as failed for that scrape; the load
 *   keeps running and, when it ends, fills the cache for the next one.
 *
 * A failed load is not cached: the next read tries again (a stale value is never served).
 */
export class CachedSource<T> {
  private cached: { value: T; at: number } | undefined;
  private loading: Promise<T> | undefined;
  private lastLoadMs: number | undefined;
  private readonly now: () => number;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly options: CachedSourceOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** How long the last load that finished (successfully or not) took, in milliseconds. */
  get lastLoadDurationMs(): number | undefined {
    return this.lastLoadMs;
  }

  async read(): Promise<SourceReading<T>> {
    if (this.cached && this.now() - this.cached.at < this.options.ttlMs) return { ok: true, value: this.cached.value };
    this.loading ??= this.start();
    try {
      return { ok: true, value: await withDeadline(this.loading, this.options.budgetMs) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  private start(): Promise<T> {
    const started = this.now();
    const loading = Promise.resolve()
      .then(this.load)
      .then((value) => {
        this.cached = { value, at: this.now() };
        return value;
      })
      .finally(() => {
        this.lastLoadMs = this.now() - started;
        if (this.loading === loading) this.loading = undefined;
      });
    // Every reader may have given up already: a late failure must not become an unhandled rejection.
    loading.catch(() => undefined);
    return loading;
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
