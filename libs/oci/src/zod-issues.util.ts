import { z } from 'zod';
import type { ZodError } from 'zod';
import { InvalidDigestError, parseDigest } from './digest';

/** `layers[0].digest` for a zod issue path. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** One line naming every offending field, e.g. `config.digest: invalid checksum digest length; layers: …`. */
export function formatZodError(error: ZodError): string {
  return error.issues
    .map((issue) => {
      const where = formatIssuePath(issue.path);
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** A digest string, validated with go-digest's rules and messages. */
export const digestSchema = z.string().superRefine((value, ctx) => {
  try {
    parseDigest(value);
  } catch (err) {
    if (!(err instanceof InvalidDigestError)) throw err;
    ctx.addIssue({ code: 'custom', message: `${err.message} (${JSON.stringify(value)})` });
  }
});
