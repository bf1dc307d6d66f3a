import { Readable } from 'node:stream';
import { BadRequestException } from '@nestjs/common';
import type { ZodError, ZodType } from 'zod';

/** A JSON body checked against its schema; a 400 names every offending field. */
export function parseBody<T>(schema: ZodType<T>, body: unknown): T {
  // Bodies of other types reach routes as unread streams (the gateway streams tars).
  if (body === undefined || body instanceof Readable) throw new BadRequestException('the request body must be JSON, sent with Content-Type: application/json');
  return parseValue(schema, body, 'invalid request body');
}

/** As parseBody, for routes whose every field is optional: no body at all means `{}`. */
export function parseOptionalBody<T>(schema: ZodType<T>, body: unknown): T {
  return parseBody(schema, body === undefined ? {} : body);
}

/** A value checked against its schema; the 400 starts with `what`. */
export function parseValue<T>(schema: ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BadRequestException(`${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** `scopes[0].repository: <problem>; name: <problem>`. */
export function describeIssues(error: ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i ? '.' : ''}${String(key)}`)).join('');
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
