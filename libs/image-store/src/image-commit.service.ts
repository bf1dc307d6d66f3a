import { Inject, Injectable } from '@nestjs/common';
import { BLOB_STORE, type BlobStore } from '@cargohold/storage';
import { DataSource, type EntityManager } from 'typeorm';
import { parseImageConfig, parseManifest, type Reference } from '@cargohold/oci';
import { ImageEntity, ImageLayerEntity } from '@cargohold/db';
import { ImageReferencesRepository } from './image-references.repository';
import { claimBlobs } from './blob-claims';
import { insertManifest } from './manifest-records.util';

export interface NewImageLayer {
  /** Blob holding the layer as stored (plain or compressed tar). */
  digest: string;
  size: number;
  mediaType: string;
  /** Digest of the uncompressed tar. */
  diffId: string;
  /** Sum of the sizes of the files in the layer. */
  contentSize: number;
  /**
   * Diff ID and content size were read from the layer itself (default). False when they are
   * claims (a registry push): such a row is never trusted in place of the blob (ADR 0010).
   */
  verified?: boolean;
}

/** An image's `Size`: the sum of its layers' content sizes (ADR 0002), at commit and after verification. */
export function imageSize(layers: ReadonlyArray<{ contentSize: number }>): number {
  return layers.reduce((sum, l) => sum + l.contentSize, 0);
}

export interface NewImage {
  config: { digest: string; bytes: Buffer };
  manifest: { digest: string; mediaType: string; bytes: Buffer };
  layers: NewImageLayer[];
  parentId?: string | null;
  /** Normalised references with a tag: each is pointed at this image. */
  tags?: Array<Reference & { tag: string }>;
  /** Record `repo@<manifest digest>` for each tagged repository. */
  recordDigests?: boolean;
}

export interface CommitResult {
  imageId: string;
  /** Tags that moved here from another image: `{ tag: 'busybox:latest', previousImageId }`. */
  moved: Array<{ repository: string; tag: string; previousImageId: string }>;
}

/**
 * Makes an image visible: blobs, manifest, image and references in one transaction, so a
 * reader sees all of it or nothing (ARCHITECTURE invariant). Idempotent: committing the same
 * image twice changes nothing but tag targets. The caller has already stored and verified
 * every blob it names.
 */
@Injectable()
export class ImageCommitService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly refs: ImageReferencesRepository,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  commit(image: NewImage): Promise<CommitResult> {
    const config = parseImageConfig(image.config.bytes);
    const now = Date.now();
    return this.dataSource.transaction(async (em) => {
      await this.recordBlobs(em, [{ digest: image.config.digest, size: image.config.bytes.length }, ...image.layers.map((l) => ({ digest: l.digest, size: l.size }))]);
      await this.recordManifest(em, image, now);
      const exists = await em.existsBy(ImageEntity, { id: image.config.digest });
      if (!exists) {
        await em.insert(ImageEntity, {
          id: image.config.digest,
          config: image.config.bytes.toString('utf8'),
          labels: JSON.stringify(config.config?.Labels ?? {}),
          size: imageSize(image.layers),
          created: config.created ? Date.parse(config.created) || 0 : 0,
          parentId: image.parentId ?? null,
          os: config.os ?? 'linux',
          architecture: config.architecture ?? 'amd64',
          variant: config.variant ?? null,
          manifestDigest: image.manifest.digest,
          storedAt: now,
        });
        await em.insert(
          ImageLayerEntity,
          image.layers.map((l, position) => ({
            imageId: image.config.digest,
            position,
            diffId: l.diffId,
            blobDigest: l.digest,
            mediaType: l.mediaType,
            blobSize: l.size,
            contentSize: l.contentSize,
            verified: l.verified ?? true,
          })),
        );
      }
      const moved: CommitResult['moved'] = [];
      for (const ref of image.tags ?? []) {
        const previous = await this.refs.setTag(ref.name, ref.tag, image.config.digest, image.manifest.digest, em);
        if (previous) moved.push({ repository: ref.name, tag: ref.tag, previousImageId: previous });
        if (image.recordDigests) await this.refs.addDigest(ref.name, image.manifest.digest, image.config.digest, em);
      }
      await this.refs.bumpVersion(em);
      return { imageId: image.config.digest, moved };
    });
  }

  private async recordBlobs(em: EntityManager, blobs: Array<{ digest: string; size: number }>): Promise<void> {
    await claimBlobs(em, this.blobs, blobs);
  }

  private async recordManifest(em: EntityManager, image: NewImage, now: number): Promise<void> {
    const parsed = parseManifest(image.manifest.bytes, image.manifest.mediaType);
    await insertManifest(em, { ...image.manifest, parsed, imageId: image.config.digest }, now);
  }
}
