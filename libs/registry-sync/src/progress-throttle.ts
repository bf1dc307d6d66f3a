const UPDATE_EVERY_BYTES = 512 * 1024;
const MIN_INTERVAL_MS = 100;

/**
 * When dockerd's progress reader reports: after more than 512 KiB (or 1% of the total, if
 * smaller) since the last candidate update, at most once per 100 ms, except that reaching the
 * total is always reported. Pure: the caller passes the clock.
 */
export class ProgressThrottle {
  private lastUpdate = 0;
  private lastEmitAt = Number.NEGATIVE_INFINITY;
  private lastReported = -1;
  private readonly updateEvery: number;

  constructor(private readonly total: number) {
    const onePercent = Math.trunc(0.01 * total);
    this.updateEvery = total > 0 && onePercent < UPDATE_EVERY_BYTES ? onePercent : UPDATE_EVERY_BYTES;
  }

  /** True when a line should be sent for `current` bytes at time `now` (ms). */
  shouldReport(current: number, now: number): boolean {
    if (current - this.lastUpdate <= this.updateEvery) return false;
    this.lastUpdate = current;
    if (current !== this.total && now - this.lastEmitAt < MIN_INTERVAL_MS) return false;
    if (current !== this.total) this.lastEmitAt = now;
    this.lastReported = current;
    return true;
  }

  /**
   * The transfer ended at `current`: true unless that was just reported. dockerd always reports
   * at EOF, so the last line shows the whole size even when the final chunk was a small one.
   */
  atEnd(current: number): boolean {
    if (current === this.lastReported) return false;
    this.lastReported = current;
    return true;
  }
}
