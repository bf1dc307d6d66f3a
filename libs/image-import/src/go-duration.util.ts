/** Nanoseconds per unit, as Go's `time.ParseDuration` knows them. */
const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/**
 * Parses a Go duration (`1h30m`, `1.5s`, `300ms`, `-2m`) into nanoseconds, accepting and
 * refusing what `time.ParseDuration` does, with its error texts. HEALTHCHECK flags use it.
 */
export function parseGoDuration(input: string): number {
  const quoted = JSON.stringify(input);
  let rest = input;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new DurationError(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = number?.[1] ?? '';
    const fraction = number?.[2];
    // A number needs a digit on at least one side of the point.
    if (whole === '' && (fraction === undefined || fraction === '')) throw new DurationError(`time: invalid duration ${quoted}`);
    rest = rest.slice(number?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]*/.exec(rest);
    const unit = unitMatch?.[0] ?? '';
    if (unit === '') throw new DurationError(`time: missing unit in duration ${quoted}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new DurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    rest = rest.slice(unit.length);
    total += Number(`${whole || '0'}.${fraction || '0'}`) * scale;
  }
  // Go's int64 nanoseconds; past 2^53 the value is approximate here, which no timer notices.
  if (total >= 2 ** 63) throw new DurationError(`time: invalid duration ${quoted}`);
  return sign * Math.round(total);
}
