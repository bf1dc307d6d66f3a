import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

/**
 * Every environment variable cargohold reads. Documented in README.md ("Configuration");
 * keep the two in step.
 */
export const envSchema = z
  .object({
    CARGOHOLD_PORT: port.default(2375),
    CARGOHOLD_HOST: z.string().min(1).default('127.0.0.1'),
    CARGOHOLD_DATA_DIR: z.string().min(1).default('.data'),
    CARGOHOLD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
    CARGOHOLD_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('cargohold'),
    DATABASE_URL: z.string().min(1).optional(),
    CARGOHOLD_BLOB_DRIVER: z.enum(['filesystem', 's3']).default('filesystem'),
    CARGOHOLD_S3_ENDPOINT: z.url().optional(),
    CARGOHOLD_S3_BUCKET: z.string().min(3).default('cargohold'),
    CARGOHOLD_S3_ACCESS_KEY: z.string().optional(),
    CARGOHOLD_S3_SECRET_KEY: z.string().optional(),
    CARGOHOLD_S3_REGION: z.string().default('us-east-1'),
    CARGOHOLD_S3_PATH_STYLE: bool.default(true),
    CARGOHOLD_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    CARGOHOLD_JOB_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    CARGOHOLD_LOAD_MAX_BYTES: z.coerce.number().int().positive().default(64 * 1024 ** 3),
    CARGOHOLD_MAX_GZIP_RATIO: z.coerce.number().positive().default(100),
    CARGOHOLD_PULL_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(3),
    CARGOHOLD_INSECURE_REGISTRIES: z.string().default(''),
    CARGOHOLD_REGISTRY_MIRRORS: z.string().default(''),
    CARGOHOLD_DOCKER_HUB_URL: z.url().optional(),
    CARGOHOLD_AUTH: z.enum(['on', 'off']).default('off'),
    CARGOHOLD_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
    CARGOHOLD_ANONYMOUS_PULL: z.string().default(''),
    CARGOHOLD_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(300),
    CARGOHOLD_REGISTRY_DELETE: bool.default(true),
    CARGOHOLD_REGISTRY_REDIRECT: bool.default(false),
    CARGOHOLD_BUILD_DIR: z.string().min(1).optional(),
    CARGOHOLD_BUILD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    CARGOHOLD_ADD_URL_MAX_BYTES: z.coerce.number().int().positive().default(1024 ** 3),
    CARGOHOLD_MANIFEST_MAX_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 ** 2).default(4 * 1024 ** 2),
  })
  .superRefine((env, ctx) => {
    if (env.CARGOHOLD_BLOB_DRIVER === 's3') {
      for (const key of ['CARGOHOLD_S3_ENDPOINT', 'CARGOHOLD_S3_ACCESS_KEY', 'CARGOHOLD_S3_SECRET_KEY'] as const) {
        if (!env[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'required when CARGOHOLD_BLOB_DRIVER=s3' });
      }
    }
  });

export type Env = z.infer<typeof envSchema>;

export type DatabaseSettings = { type: 'postgres'; url: string } | { type: 'sqlite'; file: string };

export interface S3Settings {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
  pathStyle: boolean;
}

/** Configuration after validation, in the shapes the libs consume. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  logLevel: Env['CARGOHOLD_LOG_LEVEL'];
  redisUrl: string | undefined;
  queuePrefix: string;
  database: DatabaseSettings;
  blobs: { driver: 'filesystem'; root: string } | ({ driver: 's3' } & S3Settings);
  jobConcurrency: number;
  /** How long a job stays locked to a worker without renewal: a killed worker's jobs move after it. */
  jobLockMs: number;
  loadMaxBytes: number;
  /** Largest expansion a gzip archive or layer may have past 64 MiB (decompression bombs). */
  maxGzipRatio: number;
  registries: {
    /** Parallel layer downloads per pull. */
    pullConcurrency: number;
    /** host[:port] or CIDR reached over plain HTTP (loopback always is, as with dockerd). */
    insecure: string[];
    /** Endpoints tried first for docker.io references. */
    mirrors: string[];
    /** Base URL for docker.io references (none built in: this service ships no registry host). */
    dockerHubUrl: string | undefined;
  };
  auth: {
    /** Off: every request is allowed (embedded default, logged loudly at boot). */
    enabled: boolean;
    /** A token with every scope, for bootstrapping (creating the first API tokens). */
    adminToken: string | undefined;
    /** Repository patterns anyone may pull without a token. */
    anonymousPull: string[];
    /** Lifetime of the bearer tokens the registry token endpoint issues. */
    tokenTtlSeconds: number;
  };
  build: {
    /** Scratch space for builds (context, root filesystems); default /dev/shm when present, else <data dir>/builds. */
    dir: string | undefined;
    /** Builds one builder process runs at once. */
    concurrency: number;
    /** Largest file `ADD <url>` downloads. */
    addUrlMaxBytes: number;
  };
  registryApi: {
    /** DELETE of manifests and blobs through /v2/. */
    deleteEnabled: boolean;
    /** With the s3 driver, answer blob GETs with a redirect to a presigned URL. */
    redirectBlobs: boolean;
    manifestMaxBytes: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const list = (value: string): string[] =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** Validate the environment once, at boot. Throws ConfigError naming each bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`));
  }
  const env = parsed.data;
  const dataDir = path.resolve(env.CARGOHOLD_DATA_DIR);
  const dbUrl = env.DATABASE_URL;
  const database: DatabaseSettings =
    dbUrl && /^postgres(ql)?:\/\//.test(dbUrl)
      ? { type: 'postgres', url: dbUrl }
      : { type: 'sqlite', file: path.resolve(dbUrl?.replace(/^sqlite:(\/\/)?/, '') ?? path.join(dataDir, 'cargohold.sqlite')) };
  const blobs: AppConfig['blobs'] =
    env.CARGOHOLD_BLOB_DRIVER === 's3'
      ? {
          driver: 's3',
          endpoint: env.CARGOHOLD_S3_ENDPOINT as string,
          bucket: env.CARGOHOLD_S3_BUCKET,
          accessKey: env.CARGOHOLD_S3_ACCESS_KEY as string,
          secretKey: env.CARGOHOLD_S3_SECRET_KEY as string,
          region: env.CARGOHOLD_S3_REGION,
          pathStyle: env.CARGOHOLD_S3_PATH_STYLE,
        }
      : { driver: 'filesystem', root: path.join(dataDir, 'blobs') };
  return {
    port: env.CARGOHOLD_PORT,
    host: env.CARGOHOLD_HOST,
    dataDir,
    logLevel: env.CARGOHOLD_LOG_LEVEL,
    redisUrl: env.REDIS_URL,
    queuePrefix: env.CARGOHOLD_QUEUE_PREFIX,
    database,
    blobs,
    jobConcurrency: env.CARGOHOLD_JOB_CONCURRENCY,
    jobLockMs: env.CARGOHOLD_JOB_LOCK_MS,
    loadMaxBytes: env.CARGOHOLD_LOAD_MAX_BYTES,
    maxGzipRatio: env.CARGOHOLD_MAX_GZIP_RATIO,
    registries: {
      pullConcurrency: env.CARGOHOLD_PULL_CONCURRENCY,
      insecure: list(env.CARGOHOLD_INSECURE_REGISTRIES),
      mirrors: list(env.CARGOHOLD_REGISTRY_MIRRORS),
      dockerHubUrl: env.CARGOHOLD_DOCKER_HUB_URL,
    },
    auth: {
      enabled: env.CARGOHOLD_AUTH === 'on',
      adminToken: env.CARGOHOLD_ADMIN_TOKEN,
      anonymousPull: list(env.CARGOHOLD_ANONYMOUS_PULL),
      tokenTtlSeconds: env.CARGOHOLD_TOKEN_TTL_SECONDS,
    },
    build: {
      dir: env.CARGOHOLD_BUILD_DIR ? path.resolve(env.CARGOHOLD_BUILD_DIR) : undefined,
      concurrency: env.CARGOHOLD_BUILD_CONCURRENCY,
      addUrlMaxBytes: env.CARGOHOLD_ADD_URL_MAX_BYTES,
    },
    registryApi: {
      deleteEnabled: env.CARGOHOLD_REGISTRY_DELETE,
      redirectBlobs: env.CARGOHOLD_REGISTRY_REDIRECT,
      manifestMaxBytes: env.CARGOHOLD_MANIFEST_MAX_BYTES,
    },
  };
}

/** Nest injection token for the validated AppConfig. */
export const APP_CONFIG = Symbol('AppConfig');
