import { describe, expect, it } from 'vitest';
import { ProgressThrottle } from './progress-throttle';

const KiB = 1024;

describe('ProgressThrottle (dockerd progress reader cadence)', () => {
  it('reports after more than 512 KiB, at most every 100 ms, and always at the end', () => {
    const throttle = new ProgressThrottle(100 * 1024 * KiB);
    expect(throttle.shouldReport(512 * KiB, 0)).toBe(false); // not more than 512 KiB yet
    expect(throttle.shouldReport(512 * KiB + 1, 0)).toBe(true);
    expect(throttle.shouldReport(1100 * KiB, 50)).toBe(false); // within 100 ms of the last line
    expect(throttle.shouldReport(1200 * KiB, 60)).toBe(false); // the skipped update still moved the mark
    expect(throttle.shouldReport(1800 * KiB, 150)).toBe(true);
    expect(throttle.shouldReport(100 * 1024 * KiB, 151)).toBe(true); // the total, even right away
  });

  it('uses 1% steps for blobs under 51.2 MB', () => {
    const throttle = new ProgressThrottle(10_000);
    expect(throttle.shouldReport(100, 0)).toBe(false);
    expect(throttle.shouldReport(101, 0)).toBe(true);
    expect(throttle.shouldReport(202, 500)).toBe(true);
    expect(throttle.shouldReport(10_000, 501)).toBe(true);
  });

  it('reports the end once, even when the last chunk was too small for a line', () => {
    const throttle = new ProgressThrottle(10_000);
    expect(throttle.shouldReport(9_950, 0)).toBe(true);
    expect(throttle.shouldReport(10_000, 1)).toBe(false); // only 50 bytes since the last line
    expect(throttle.atEnd(10_000)).toBe(true);
    expect(throttle.atEnd(10_000)).toBe(false);
    const reported = new ProgressThrottle(10_000);
    expect(reported.shouldReport(10_000, 0)).toBe(true);
    expect(reported.atEnd(10_000)).toBe(false);
  });

  it('uses 512 KiB steps when the size is unknown', () => {
    const throttle = new ProgressThrottle(0);
    expect(throttle.shouldReport(100_000, 0)).toBe(false);
    expect(throttle.shouldReport(512 * KiB + 1, 0)).toBe(true);
  });
});
