import type { EntityManager } from 'typeorm';
import { ManifestEntity, ManifestRefEntity } from '@cargohold/db';
import type { ParsedManifest } from '@cargohold/oci';

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  /** Byte-exact: the digest is over these bytes. */
  bytes: Buffer;
  parsed: ParsedManifest;
  /** The image this manifest is (its config digest), when it is an image manifest. */
  imageId?: string | null;
}

/**
 * Stores a manifest or index with what it references (config and layers, or manifests with
 * their platforms), subject and artifact type for the referrers API. Idempotent: a manifest
 * already stored is left as it is. Returns whether it was new.
 */
export async function insertManifest(em: EntityManager, manifest: ManifestRecord, now = Date.now()): Promise<boolean> {
  // An existing row is locked until this transaction ends, so the gc sweep, which locks a
  // manifest before deciding nothing references it, cannot delete it under the reference this
  // transaction is about to add (ADR 0006). SQLite serialises write transactions instead.
  const query = em.createQueryBuilder(ManifestEntity, 'm').select('m.digest').where('m.digest = :digest', { digest: manifest.digest });
  const existing = await (em.connection.options.type === 'postgres' ? query.setLock('pessimistic_read') : query).getOne();
  if (existing) return false;
  const { parsed } = manifest;
  await em.insert(ManifestEntity, {
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    size: manifest.bytes.length,
    content: manifest.bytes.toString('utf8'),
    configDigest: manifest.imageId ?? null,
    subjectDigest: parsed.subject?.digest ?? null,
    artifactType: parsed.artifactType ?? null,
    createdAt: now,
  });
  const refs =
    parsed.kind === 'index'
      ? parsed.manifests.map((m, position) => ({
          manifestDigest: manifest.digest,
          position,
          kind: 'manifest' as const,
          targetDigest: m.digest,
          mediaType: m.mediaType,
          size: m.size,
          platform: m.platform ? JSON.stringify(m.platform) : null,
        }))
      : [parsed.config, ...parsed.layers].map((d, position) => ({
          manifestDigest: manifest.digest,
          position,
          kind: position === 0 ? ('config' as const) : ('layer' as const),
          targetDigest: d.digest,
          mediaType: d.mediaType,
          size: d.size,
          platform: null,
        }));
  for (let i = 0; i < refs.length; i += 200) await em.insert(ManifestRefEntity, refs.slice(i, i + 200));
  return true;
}
