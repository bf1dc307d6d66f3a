import { z } from 'zod';
import { digestSchema, formatZodError } from './zod-issues.util';

/** `HEALTHCHECK` as stored in an image config; durations are nanoseconds. */
export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
  [key: string]: unknown;
}

/** The runtime defaults an image carries (`config` in the image JSON). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown> | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, unknown> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig | null;
  OnBuild?: string[] | null;
  Shell?: string[] | null;
  ArgsEscaped?: boolean;
  [key: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
  [key: string]: unknown;
}

/** A Docker / OCI image config. Fields this type does not name are kept as they were. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  created?: string;
  author?: string;
  config?: ContainerConfig | null;
  rootfs: { type: string; diff_ids: string[]; [key: string]: unknown };
  history?: HistoryEntry[] | null;
  [key: string]: unknown;
}

export class ImageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageConfigError';
  }
}

// Docker's strslice accepts a lone string where a list is expected (`"Cmd": "sh"`).
const stringSlice = z
  .union([z.array(z.string()), z.string()])
  .transform((value) => (typeof value === 'string' ? [value] : value))
  .nullish();

const healthSchema = z.looseObject({
  Test: z.array(z.string()).nullish(),
  Interval: z.number().optional(),
  Timeout: z.number().optional(),
  StartPeriod: z.number().optional(),
  StartInterval: z.number().optional(),
  Retries: z.number().optional(),
});

const containerConfigSchema = z.looseObject({
  User: z.string().optional(),
  ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
  Env: z.array(z.string()).nullish(),
  Entrypoint: stringSlice,
  Cmd: stringSlice,
  Volumes: z.record(z.string(), z.unknown()).nullish(),
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).nullish(),
  StopSignal: z.string().optional(),
  Healthcheck: healthSchema.nullish(),
  OnBuild: z.array(z.string()).nullish(),
  Shell: stringSlice,
  ArgsEscaped: z.boolean().optional(),
});

const imageConfigSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).nullish().transform((v) => v ?? undefined),
  created: z.string().optional(),
  author: z.string().optional(),
  config: containerConfigSchema.nullish(),
  rootfs: z.looseObject({
    type: z.literal('layers', { error: 'must be "layers"' }),
    diff_ids: z.array(digestSchema).nullable().transform((v) => v ?? []),
  }),
  history: z
    .array(
      z.looseObject({
        created: z.string().optional(),
        created_by: z.string().optional(),
        author: z.string().optional(),
        comment: z.string().optional(),
        empty_layer: z.boolean().optional(),
      }),
    )
    .nullish(),
});

/** Parses and validates an image config (the JSON an image ID is the digest of). */
export function parseImageConfig(bytes: Buffer): ImageConfig {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ImageConfigError(`invalid image config: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ImageConfigError('invalid image config: expected a JSON object');
  }
  const parsed = imageConfigSchema.safeParse(body);
  if (!parsed.success) throw new ImageConfigError(`invalid image config: ${formatZodError(parsed.error)}`);
  return parsed.data;
}
