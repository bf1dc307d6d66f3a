import { invalid } from './image-store.errors';

/** Docker's `filters` query parameter, as a map of key → values. */
export type DockerFilters = Map<string, string[]>;

/**
 * Parse `filters` as dockerd does: `{"key":{"value":true}}` (current) or `{"key":["value"]}`
 * (legacy); empty means none. Unknown keys are refused with dockerd's text.
 */
export function parseDockerFilters(raw: string | undefined, accepted: readonly string[]): DockerFilters {
  const filters: DockerFilters = new Map();
  if (!raw) return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filter: ${raw}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(`invalid filter: ${raw}`);
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    let values: string[];
    if (Array.isArray(value)) values = value.map(String);
    else if (value && typeof value === 'object') values = Object.entries(value).filter(([, on]) => on === true).map(([v]) => v);
    else throw invalid(`invalid filter: ${raw}`);
    if (!accepted.includes(key)) throw invalid(`invalid filter '${key}'`);
    if (values.length) filters.set(key, values);
  }
  return filters;
}

/** `GetBoolOrDefault`: the filter's single boolean value, or the default when absent. */
export function filterBool(filters: DockerFilters, key: string, fallback: boolean): boolean {
  const values = filters.get(key);
  if (!values?.length) return fallback;
  const truthy = values.map((v) => {
    const lower = v.toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0') return false;
    throw invalid(`invalid filter '${key}=${v}'`);
  });
  if (new Set(truthy).size > 1) throw invalid(`invalid filter '${key}=${values.join(',')}'`);
  return truthy[0];
}

/** `MatchKVList`: every `k` or `k=v` in the filter must be present in the labels. */
export function matchLabels(wanted: readonly string[], labels: Record<string, string> | null | undefined): boolean {
  return wanted.every((entry) => {
    const eq = entry.indexOf('=');
    const key = eq === -1 ? entry : entry.slice(0, eq);
    if (!labels || !(key in labels)) return false;
    return eq === -1 || labels[key] === entry.slice(eq + 1);
  });
}

/**
 * dockerd's `label!=` for prunes (daemon/prune.go's matchLabels): an object is kept only when it
 * carries every one of the pairs; with two `label!` values, one carrying only one of them goes.
 */
export function matchNoLabels(unwanted: readonly string[], labels: Record<string, string> | null | undefined): boolean {
  return unwanted.length === 0 || !matchLabels(unwanted, labels);
}

/** dockerd's getUntilFromPruneFilters: at most one `until`, as epoch milliseconds. */
export function pruneUntil(filters: DockerFilters): number | undefined {
  const values = filters.get('until');
  if (!values) return undefined;
  if (values.length > 1) throw invalid('more than one until filter specified');
  return parseTimestamp(values[0]);
}

const DURATION_UNIT: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * dockerd's `timetypes.GetTimestamp`: a Go duration (`24h`, `1h30m`) counts back from now;
 * a Unix timestamp (`1700000000`, `1700000000.5`); or an RFC 3339 date/time (with or without
 * zone, date only). Returns epoch milliseconds.
 */
export function parseTimestamp(value: string, now = Date.now()): number {
  const duration = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(value) ? value.match(/\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)/g) : null;
  if (duration) {
    const ms = duration.reduce((sum, part) => {
      const [, n, unit] = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(part) as RegExpExecArray;
      return sum + Number(n) * DURATION_UNIT[unit];
    }, 0);
    return now - ms;
  }
  if (/^-?\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const noZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value);
  const parsed = Date.parse(dateOnly ? `${value}T00:00:00Z` : noZone ? `${value}Z` : value);
  if (Number.isNaN(parsed)) throw invalid(`failed to parse value as time or duration: "${value}"`);
  return parsed;
}

/**
 * Go's `path.Match` as used by `reference.FamiliarMatch`: `*` and `?` never cross `/`,
 * `[...]` classes with ranges and `^`/`!` negation, `\\` escapes.
 */
export function globMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw invalid('syntax error in pattern');
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`${re}$`).test(name);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
