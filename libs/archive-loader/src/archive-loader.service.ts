import { Readable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { ImageCommitService, shortId } from '@cargohold/image-store';
import {
  ArchiveError,
  type ArchiveImage,
  familiarName,
  parseReference,
  readImageArchive,
  synthesizeManifest,
  UnsafeArchiveError,
  withDefaultTag,
} from '@cargohold/oci';
import { type JobContext, PermanentJobError } from '@cargohold/queue';
import type { LoadJob, LoadResult } from '@cargohold/queue-contracts';
import { BLOB_STORE, type BlobDigest, type BlobStore } from '@cargohold/storage';

/**
 * `docker load` as a puller job: reads the staged archive once, streaming every entry into the
 * blob store (verified) while the layer inspector checks it, then commits each image with its
 * tags in one transaction. Safe to run twice: blobs are content-addressed and commits idempotent.
 */
@Injectable()
export class ArchiveLoaderService {
  private readonly logger = new Logger(ArchiveLoaderService.name);

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly commits: ImageCommitService,
  ) {}

  async load(job: LoadJob, ctx: JobContext): Promise<LoadResult> {
    const source = await this.blobs.openStaged(job.archiveKey);
    try {
      const contents = await readImageArchive(
        source,
        {
          putEntry: async (_path, stream, size, expectedDigest) => {
            const info = await this.blobs.put(stream, { size, digest: expectedDigest as BlobDigest | undefined });
            return { digest: info.digest, size: info.size };
          },
        },
        { maxBytes: this.config.loadMaxBytes, layer: { maxRatio: this.config.maxGzipRatio } },
      );
      if (!contents.images.length) throw new ArchiveError('no images found in the archive');
      const result: LoadResult = { images: [] };
      for (const image of contents.images) {
        if (!job.quiet) {
          for (const layer of image.layers) {
            await ctx.progress({ status: 'Loading layer', id: shortId(layer.diffId), progressDetail: { current: layer.size, total: layer.size } });
          }
        }
        const manifest = image.manifest ?? (await this.storeSynthesizedManifest(image));
        const tags = image.repoTags.map((t) => {
          const ref = withDefaultTag(parseReference(t));
          return { ...ref, tag: ref.tag ?? 'latest' };
        });
        const committed = await this.commits.commit({
          config: image.config,
          manifest,
          layers: image.layers,
          tags,
          recordDigests: true,
        });
        for (const moved of committed.moved) {
          await ctx.progress({
            stream: `The image ${familiarName(moved.repository)}:${moved.tag} already exists, renaming the old one with ID ${moved.previousImageId} to empty string\n`,
          });
        }
        result.images.push({ id: committed.imageId, tags: tags.map((t) => `${familiarName(t.name)}:${t.tag}`) });
      }
      return result;
    } catch (err) {
      if (err instanceof ArchiveError || err instanceof UnsafeArchiveError) throw new PermanentJobError(err.message);
      throw err;
    } finally {
      source.destroy();
      await this.blobs.removeStaged(job.archiveKey).catch((e: unknown) => this.logger.warn(`could not remove staged archive ${job.archiveKey}: ${String(e)}`));
    }
  }

  /** A legacy docker-archive carries no manifest: store the one `docker save` would write. */
  private async storeSynthesizedManifest(image: ArchiveImage): Promise<{ digest: string; mediaType: string; bytes: Buffer }> {
    const manifest = synthesizeManifest({ digest: image.config.digest, size: image.config.bytes.length }, image.layers);
    await this.blobs.put(Readable.from([manifest.bytes]), { digest: manifest.digest, size: manifest.bytes.length });
    return manifest;
  }
}
