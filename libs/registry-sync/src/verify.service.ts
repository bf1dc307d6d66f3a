import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ArchiveError, type LayerInspection, type LayerInspectorLimits, SHA256_DIGEST_RE } from '@cargohold/oci';
import type { JobContext } from '@cargohold/queue';
import type { VerifyJob, VerifyResult } from '@cargohold/queue-contracts';
import { BLOB_STORE, type BlobDigest, BlobNotFoundError, type BlobStore } from '@cargohold/storage';
import { inspectStoredLayer } from './layer-blob';
import { REGISTRY_SYNC_OPTIONS, type RegistrySyncOptions, resolveRegistrySyncOptions } from './registry-sync.options';
import { RegistrySyncRepository } from './registry-sync.repository';

/**
 * `verify.v1` (ADR 0010): reads each layer blob of an image pushed through the registry API, as
 * a pull reads a present blob it has no facts for, and checks the diff ID the pushed config
 * claimed. A match makes every row with that claim verified, with the true content size (the
 * image's `Size` follows); anything else leaves the rows unverified and is reported. Nothing is
 * deleted: a registry keeps what it was given, and unverified rows are never trusted.
 */
@Injectable()
export class VerifyService {
  private readonly logger = new Logger('VerifyLayers');
  private readonly limits: LayerInspectorLimits;

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly records: RegistrySyncRepository,
    @Optional() @Inject(REGISTRY_SYNC_OPTIONS) options?: Partial<RegistrySyncOptions>,
  ) {
    const resolved = resolveRegistrySyncOptions(options);
    this.limits = resolved.maxGzipRatio === undefined ? {} : { maxRatio: resolved.maxGzipRatio };
  }

  async verify(job: VerifyJob, ctx: JobContext): Promise<VerifyResult> {
    const result: VerifyResult = { imageId: job.imageId, verified: 0, failed: [] };
    const claims = await this.records.unverifiedLayers(job.imageId);
    const byBlob = new Map<string, string[]>();
    for (const claim of claims) byBlob.set(claim.blobDigest, [...(byBlob.get(claim.blobDigest) ?? []), claim.diffId]);

    for (const [digest, claimed] of byBlob) {
      ctx.signal.throwIfAborted();
      const read = await this.inspect(digest, ctx.signal);
      if ('reason' in read) {
        this.logger.error(`image ${job.imageId}: layer ${digest} (claimed diff ID ${claimed.join(', ')}) stays unverified: ${read.reason}`);
        result.failed.push({ digest, reason: read.reason });
        continue;
      }
      let matched = false;
      for (const diffId of claimed) {
        if (diffId === read.diffId) {
          await this.records.markLayerVerified(digest, diffId, read.contentSize);
          matched = true;
          continue;
        }
        const reason = `diff ID mismatch: the config claims ${diffId}, the blob holds ${read.diffId}`;
        this.logger.error(`image ${job.imageId}: layer ${digest} stays unverified: ${reason}`);
        result.failed.push({ digest, reason });
      }
      if (matched) result.verified++;
    }
    return result;
  }

  /** The layer as read from the store, or why it cannot be; store and database failures are thrown (the job retries). */
  private async inspect(digest: string, signal: AbortSignal): Promise<LayerInspection | { reason: string }> {
    if (!SHA256_DIGEST_RE.test(digest)) return { reason: `${digest} is not a sha256 digest the store can hold` };
    try {
      return await inspectStoredLayer(this.blobs, digest as BlobDigest, this.limits, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof BlobNotFoundError) return { reason: 'the blob is not in the store' };
      if (error instanceof ArchiveError) return { reason: `the layer was refused: ${error.message}` };
      throw error;
    }
  }
}
