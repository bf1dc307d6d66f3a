import type { ValueTransformer } from 'typeorm';

/** PostgreSQL returns bigint as a string; every size and timestamp here fits a JS number. */
export const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

/** Digests are `sha256:` + 64 hex; room for sha512 too. */
export const DIGEST_LENGTH = 135;
