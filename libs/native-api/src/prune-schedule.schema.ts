import { getNextMillis } from 'bullmq';
import { z } from 'zod';
import { pruneOptionsSchema, sweepJobSchema } from '@cargohold/queue-contracts';
import type { PruneSchedule, PruneScheduleSettings } from '@cargohold/platform';

/** Shortest period a schedule may have: a prune and a sweep read the whole metadata. */
export const MIN_PERIOD_SECONDS = 60;
/** Longest `everySeconds`; longer periods read better as a cron pattern. */
export const MAX_EVERY_SECONDS = 366 * 86_400;
/** The `integer` column's bound. */
export const MAX_GRACE_SECONDS = 2_147_483_647;
/** Consecutive firings checked against MIN_PERIOD_SECONDS: enough to see a seconds field that repeats within a minute. */
const CRON_FIRINGS_CHECKED = 5;

/** `until` as the prune reads it: an instant (RFC 3339). */
const instant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an RFC 3339 date-time, such as 2026-01-31T00:00:00Z');

/** What a schedule prunes: PruneOptions without `dryRun` (a setting of the schedule); unknown keys are refused. */
export const scheduleOptionsSchema = z.strictObject({ ...pruneOptionsSchema.omit({ dryRun: true }).shape, until: instant.optional() });

/** The body of `POST /api/v1/gc/prune`. */
export const pruneBodySchema = z.strictObject({ ...pruneOptionsSchema.shape, until: instant.optional() });

/** The body of `POST /api/v1/gc/sweep`. */
export const sweepBodySchema = z.strictObject(sweepJobSchema.shape);

const name = z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const cron = z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
const everySeconds = z
  .number()
  .int()
  .min(MIN_PERIOD_SECONDS, `must be at least ${MIN_PERIOD_SECONDS}`)
  .max(MAX_EVERY_SECONDS, `must be at most ${MAX_EVERY_SECONDS} (366 days); use cron for longer periods`);
const timezone = z.string().max(64, 'must be at most 64 characters');
const graceSeconds = z.number().int().nonnegative().max(MAX_GRACE_SECONDS);

/** The body of `POST /api/v1/prune-schedules` (the rule is checked as a whole by checkRule). */
export const createScheduleSchema = z.strictObject({
  name,
  cron: cron.optional(),
  everySeconds: everySeconds.optional(),
  timezone: timezone.optional(),
  options: scheduleOptionsSchema.default(scheduleOptionsSchema.parse({})),
  sweep: z.boolean().default(true),
  sweepGraceSeconds: graceSeconds.default(3600),
  dryRun: z.boolean().default(false),
  enabled: z.boolean().default(true),
});
export type CreateScheduleBody = z.infer<typeof createScheduleSchema>;

/** The body of `PATCH /api/v1/prune-schedules/:id`: any field; null clears `cron`, `everySeconds` or `timezone`. */
export const patchScheduleSchema = z.strictObject({
  name: name.optional(),
  cron: cron.nullable().optional(),
  everySeconds: everySeconds.nullable().optional(),
  timezone: timezone.nullable().optional(),
  options: scheduleOptionsSchema.optional(),
  sweep: z.boolean().optional(),
  sweepGraceSeconds: graceSeconds.optional(),
  dryRun: z.boolean().optional(),
  enabled: z.boolean().optional(),
});
export type PatchScheduleBody = z.infer<typeof patchScheduleSchema>;

/** `?limit=` of `GET /api/v1/prune-schedules/:id/runs`. */
export const runsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

type Rule = Pick<PruneSchedule, 'cron' | 'everySeconds' | 'timezone'>;

/** The settings of a new schedule, or the problem with its rule. */
export function settingsOfCreate(body: CreateScheduleBody): PruneScheduleSettings | string {
  const rule: Rule = { cron: body.cron ?? null, everySeconds: body.everySeconds ?? null, timezone: body.timezone ?? null };
  const problem = checkRule(rule);
  if (problem) return problem;
  return { ...body, ...rule };
}

/**
 * The changes a PATCH makes, or the problem with the resulting rule. Setting `cron` clears
 * `everySeconds` and the other way round, so switching needs one field; switching to
 * `everySeconds` also clears the zone, which only cron patterns use.
 */
export function changesOfPatch(current: Rule, body: PatchScheduleBody): Partial<PruneScheduleSettings> | string {
  const rule: Rule = { cron: current.cron, everySeconds: current.everySeconds, timezone: current.timezone };
  if (body.cron !== undefined) rule.cron = body.cron;
  if (body.everySeconds !== undefined) rule.everySeconds = body.everySeconds;
  if (body.timezone !== undefined) rule.timezone = body.timezone;
  if (typeof body.cron === 'string' && body.everySeconds === undefined) rule.everySeconds = null;
  if (typeof body.everySeconds === 'number' && body.cron === undefined) {
    rule.cron = null;
    if (body.timezone === undefined) rule.timezone = null;
  }
  const problem = checkRule(rule);
  if (problem) return problem;
  const { cron: _cron, everySeconds: _every, timezone: _zone, ...rest } = body;
  return { ...stripUndefined(rest), ...rule };
}

/** Exactly one of cron and everySeconds; a zone only with cron; a cron pattern BullMQ reads, at most once a minute. */
export function checkRule(rule: Rule): string | null {
  if (rule.cron !== null && rule.everySeconds !== null) return 'give either cron or everySeconds, not both';
  if (rule.cron === null && rule.everySeconds === null) return 'give either cron (a cron pattern) or everySeconds (at least 60)';
  if (rule.cron === null) return rule.timezone === null ? null : 'timezone: applies to cron patterns only; remove it or use cron';
  if (rule.timezone !== null) {
    const zoneProblem = checkTimezone(rule.timezone);
    if (zoneProblem) return zoneProblem;
  }
  return checkCron(rule.cron, rule.timezone ?? 'UTC');
}

function checkTimezone(zone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return null;
  } catch {
    return `timezone: unknown time zone "${zone}"; use an IANA name such as Europe/Berlin`;
  }
}

/** Reads the pattern exactly as BullMQ will (its own next-firing function), then checks the gaps. */
export function checkCron(pattern: string, tz: string, now = Date.now()): string | null {
  let previous = now;
  for (let i = 0; i < CRON_FIRINGS_CHECKED; i++) {
    let next: number | undefined;
    try {
      next = getNextMillis(previous, { pattern, tz });
    } catch (error) {
      return `cron: invalid pattern "${pattern}": ${(error as Error).message}`;
    }
    if (next === undefined) return `cron: the pattern "${pattern}" never fires`;
    if (i > 0 && next - previous < MIN_PERIOD_SECONDS * 1000) return `cron: the pattern "${pattern}" fires more often than once every ${MIN_PERIOD_SECONDS} seconds`;
    previous = next;
  }
  return null;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
