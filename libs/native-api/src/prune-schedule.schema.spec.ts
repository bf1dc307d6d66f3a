import { describe, expect, it } from 'vitest';
import {
  changesOfPatch,
  checkCron,
  createScheduleSchema,
  patchScheduleSchema,
  pruneBodySchema,
  runsQuerySchema,
  settingsOfCreate,
  sweepBodySchema,
} from './prune-schedule.schema';
import { describeIssues } from './request-body.util';

/** The 400 message a create body gets, or the settings it makes. */
function create(body: unknown): ReturnType<typeof settingsOfCreate> {
  const parsed = createScheduleSchema.safeParse(body);
  if (!parsed.success) return describeIssues(parsed.error);
  return settingsOfCreate(parsed.data);
}

const cronRule = { cron: '0 3 * * *', everySeconds: null, timezone: null };
const everyRule = { cron: null, everySeconds: 3600, timezone: null };

describe('creating a schedule', () => {
  it('fills the defaults: dangling images, sweep with a one-hour grace, not a dry run, enabled', () => {
    expect(create({ name: ' nightly ', everySeconds: 60 })).toEqual({
      name: 'nightly',
      cron: null,
      everySeconds: 60,
      timezone: null,
      options: { target: 'images', danglingOnly: true, labels: [], labelsNot: [] },
      sweep: true,
      sweepGraceSeconds: 3600,
      dryRun: false,
      enabled: true,
    });
  });

  it('keeps a cron pattern with its zone and the options given', () => {
    const settings = create({
      name: 'ci',
      cron: '30 2 * * 1-5',
      timezone: 'Europe/Berlin',
      options: { danglingOnly: false, labels: ['stage=ci'], keepNewestTags: 3, until: '2026-01-01T00:00:00Z' },
      sweep: false,
      dryRun: true,
      enabled: false,
    });
    expect(settings).toMatchObject({
      cron: '30 2 * * 1-5',
      everySeconds: null,
      timezone: 'Europe/Berlin',
      options: { target: 'images', danglingOnly: false, labels: ['stage=ci'], labelsNot: [], keepNewestTags: 3, until: '2026-01-01T00:00:00Z' },
      sweep: false,
      dryRun: true,
      enabled: false,
    });
  });

  it.each([
    [{ name: 'x' }, 'give either cron (a cron pattern) or everySeconds (at least 60)'],
    [{ name: 'x', cron: '0 3 * * *', everySeconds: 3600 }, 'give either cron or everySeconds, not both'],
    [{ name: 'x', everySeconds: 59 }, 'everySeconds: must be at least 60'],
    [{ name: 'x', everySeconds: 90.5 }, 'everySeconds:'],
    [{ name: 'x', everySeconds: 400 * 86_400 }, 'everySeconds: must be at most 31622400 (366 days); use cron for longer periods'],
    [{ name: '', everySeconds: 60 }, 'name: must not be empty'],
    [{ name: 'x'.repeat(129), everySeconds: 60 }, 'name: must be at most 128 characters'],
    [{ name: 'x', everySeconds: 60, timezone: 'Europe/Berlin' }, 'timezone: applies to cron patterns only; remove it or use cron'],
    [{ name: 'x', cron: '0 3 * * *', timezone: 'Mars/Olympus' }, 'timezone: unknown time zone "Mars/Olympus"; use an IANA name such as Europe/Berlin'],
    [{ name: 'x', cron: 'every night' }, 'cron: invalid pattern "every night": '],
    [{ name: 'x', cron: '61 * * * *' }, 'cron: invalid pattern "61 * * * *": '],
    [{ name: 'x', cron: '0 0 30 2 *' }, 'cron: invalid pattern "0 0 30 2 *": '],
    [{ name: 'x', cron: '* * * * * *' }, 'cron: the pattern "* * * * * *" fires more often than once every 60 seconds'],
    [{ name: 'x', cron: '0,30 0 3 * * *' }, 'cron: the pattern "0,30 0 3 * * *" fires more often than once every 60 seconds'],
    [{ name: 'x', everySeconds: 60, options: { dryRun: true } }, 'options: Unrecognized key: "dryRun"'],
    [{ name: 'x', everySeconds: 60, options: { target: 'volumes' } }, 'options.target:'],
    [{ name: 'x', everySeconds: 60, options: { until: 'yesterday' } }, 'options.until: must be an RFC 3339 date-time'],
    [{ name: 'x', everySeconds: 60, options: { keepNewestTags: -1 } }, 'options.keepNewestTags:'],
    [{ name: 'x', everySeconds: 60, sweepGraceSeconds: -1 }, 'sweepGraceSeconds:'],
    [{ name: 'x', everySeconds: 60, color: 'red' }, 'Unrecognized key: "color"'],
  ])('refuses %j: %s', (body, message) => {
    const result = create(body);
    expect(typeof result).toBe('string');
    expect(result).toContain(message);
  });

  it('accepts a cron pattern with seconds that fires at most once a minute, and @ aliases', () => {
    expect(create({ name: 'x', cron: '15 */5 * * * *' })).toMatchObject({ cron: '15 */5 * * * *' });
    expect(create({ name: 'x', cron: '@daily' })).toMatchObject({ cron: '@daily' });
  });
});

describe('checkCron', () => {
  it('reads the pattern in the zone given (BullMQ reads it the same way)', () => {
    expect(checkCron('0 3 * * *', 'America/New_York', Date.parse('2026-06-01T00:00:00Z'))).toBeNull();
    expect(checkCron('0 3 * * *', 'Not/AZone')).toMatch(/^cron: invalid pattern "0 3 \* \* \*": /);
  });
});

describe('changing a schedule', () => {
  function patch(current: Parameters<typeof changesOfPatch>[0], body: unknown): ReturnType<typeof changesOfPatch> {
    const parsed = patchScheduleSchema.safeParse(body);
    if (!parsed.success) return describeIssues(parsed.error);
    return changesOfPatch(current, parsed.data);
  }

  it('changes only the fields given (and keeps the rule)', () => {
    expect(patch(cronRule, { enabled: false, dryRun: true })).toEqual({ enabled: false, dryRun: true, ...cronRule });
    expect(patch(cronRule, {})).toEqual(cronRule);
  });

  it('changes what the body names even when given the whole current schedule', () => {
    const current = { id: 'x', name: 'old', ...everyRule, enabled: true, dryRun: false, sweep: true };
    expect(changesOfPatch(current, { name: 'new', enabled: false })).toEqual({ name: 'new', enabled: false, ...everyRule });
  });

  it('switches between cron and everySeconds with one field, dropping the zone when leaving cron', () => {
    expect(patch({ ...cronRule, timezone: 'Europe/Berlin' }, { everySeconds: 120 })).toEqual({ cron: null, everySeconds: 120, timezone: null });
    expect(patch(everyRule, { cron: '0 4 * * *', timezone: 'Asia/Tokyo' })).toEqual({ cron: '0 4 * * *', everySeconds: null, timezone: 'Asia/Tokyo' });
    expect(patch(everyRule, { cron: '0 4 * * *', everySeconds: null })).toEqual({ cron: '0 4 * * *', everySeconds: null, timezone: null });
  });

  it('replaces the options as a whole, with their defaults', () => {
    expect(patch(everyRule, { options: { target: 'build-cache' } })).toMatchObject({ options: { target: 'build-cache', danglingOnly: true, labels: [], labelsNot: [] } });
  });

  it.each([
    [{ everySeconds: null }, 'give either cron (a cron pattern) or everySeconds (at least 60)'],
    [{ everySeconds: 3600, cron: '0 3 * * *' }, 'give either cron or everySeconds, not both'],
    [{ timezone: 'Europe/Paris' }, 'timezone: applies to cron patterns only'],
    [{ everySeconds: 30 }, 'everySeconds: must be at least 60'],
    [{ name: '' }, 'name: must not be empty'],
    [{ enabled: 'yes' }, 'enabled:'],
    [{ id: 'other' }, 'Unrecognized key: "id"'],
  ])('refuses %j: %s', (body, message) => {
    const result = patch(everyRule, body);
    expect(typeof result).toBe('string');
    expect(result).toContain(message);
  });
});

describe('gc bodies and queries', () => {
  it('fills the prune and sweep defaults and refuses unknown fields', () => {
    expect(pruneBodySchema.parse({})).toEqual({ target: 'images', danglingOnly: true, labels: [], labelsNot: [], dryRun: false });
    expect(sweepBodySchema.parse({ dryRun: true })).toEqual({ graceSeconds: 3600, dryRun: true });
    expect(sweepBodySchema.safeParse({ grace: 5 }).success).toBe(false);
    expect(pruneBodySchema.safeParse({ until: 'soon' }).success).toBe(false);
  });

  it('reads ?limit= between 1 and 100, 20 by default', () => {
    expect(runsQuerySchema.parse({})).toEqual({ limit: 20 });
    expect(runsQuerySchema.parse({ limit: '5' })).toEqual({ limit: 5 });
    for (const limit of ['0', '101', 'x', '2.5']) expect(runsQuerySchema.safeParse({ limit }).success, limit).toBe(false);
  });
});
