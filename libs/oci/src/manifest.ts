import { z } from 'zod';
import { IMAGE_INDEX_MEDIA_TYPES, IMAGE_MANIFEST_MEDIA_TYPES, MediaType, SCHEMA1_MEDIA_TYPES } from './media-types';
import type { Platform } from './platform';
import { digestSchema, formatZodError } from './zod-issues.util';

/** An OCI content descriptor. Unknown fields are kept. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  data?: string;
  platform?: Platform;
}

export interface ImageManifest {
  kind: 'manifest';
  schemaVersion: 2;
  /** From the body, else the Content-Type, else OCI's (the body may omit it). */
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  kind: 'index';
  schemaVersion: 2;
  mediaType: string;
  manifests: Array<Descriptor & { platform?: Platform }>;
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export type ParsedManifest = ImageManifest | ImageIndex;

/** A manifest or index that cannot be used; the message names the offending field. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

const annotationsSchema = z.record(z.string(), z.string());

export const platformSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
});

export const descriptorSchema = z.looseObject({
  mediaType: z.string().min(1),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotationsSchema.optional(),
  artifactType: z.string().optional(),
  data: z.string().optional(),
  platform: platformSchema.optional(),
});

const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});

const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});

const SCHEMA1_HINT =
  'Docker Image manifest version 2, schema 1 has been removed; push the image again with a current client ' +
  '(https://docs.docker.com/go/deprecated-image-specs/)';

/** `application/vnd.oci.image.index.v1+json; charset=utf-8` → the bare type. */
function bareMediaType(contentType: string | undefined): string | undefined {
  const bare = contentType?.split(';')[0].trim().toLowerCase();
  return bare ? bare : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a Docker schema2 / OCI manifest or index. Schema1 is refused. `contentType` is the
 * Content-Type it arrived with, used when the body does not state its media type.
 */
export function parseManifest(bytes: Buffer, contentType?: string): ParsedManifest {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ManifestError(`invalid manifest: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(body)) throw new ManifestError('invalid manifest: expected a JSON object');

  const declared = typeof body.mediaType === 'string' ? body.mediaType : undefined;
  const header = bareMediaType(contentType);
  if (body.schemaVersion === 1 || [declared, header].some((t) => t !== undefined && SCHEMA1_MEDIA_TYPES.includes(t))) {
    throw new ManifestError(`schema1 manifests are not supported: ${SCHEMA1_HINT}`);
  }

  const known = (t: string | undefined): t is string =>
    t !== undefined && (IMAGE_MANIFEST_MEDIA_TYPES.includes(t) || IMAGE_INDEX_MEDIA_TYPES.includes(t));
  if (known(declared) && known(header) && declared !== header) {
    throw new ManifestError(`invalid manifest: mediaType ${declared} does not match Content-Type ${header}`);
  }
  if (declared !== undefined && !known(declared)) {
    throw new ManifestError(`unsupported manifest media type ${JSON.stringify(declared)}`);
  }
  const mediaType =
    declared ?? (known(header) ? header : Array.isArray(body.manifests) ? MediaType.OciIndex : MediaType.OciManifest);

  if (IMAGE_INDEX_MEDIA_TYPES.includes(mediaType)) {
    const parsed = indexSchema.safeParse(body);
    if (!parsed.success) throw new ManifestError(`invalid manifest: ${formatZodError(parsed.error)}`);
    return { ...parsed.data, kind: 'index', mediaType };
  }
  const parsed = manifestSchema.safeParse(body);
  if (!parsed.success) throw new ManifestError(`invalid manifest: ${formatZodError(parsed.error)}`);
  return { ...parsed.data, kind: 'manifest', mediaType };
}
