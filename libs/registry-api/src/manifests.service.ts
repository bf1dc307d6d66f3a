import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { ImageEntity, ManifestEntity } from '@cargohold/db';
import { BlobUnavailableError, claimBlobs, ImageCommitService, insertManifest } from '@cargohold/image-store';
import {
  hostPlatform,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isForeignLayerMediaType,
  ManifestError,
  MediaType,
  type ParsedManifest,
  parseImageConfig,
  parseManifest,
  parseReference,
  platformMatches,
  sha256Of,
} from '@cargohold/oci';
import { JobProducer } from '@cargohold/queue';
import { JobName } from '@cargohold/queue-contracts';
import { BLOB_STORE, type BlobDigest, type BlobStore } from '@cargohold/storage';
import { RegistryApiError, digestInvalid, manifestUnknown } from './registry-errors';
import { parseManifestReference } from './registry-route.util';
import { RegistryRepository, type StoredManifest } from './registry.repository';

const IMAGE_CONFIG_TYPES: readonly string[] = [MediaType.DockerConfig, MediaType.OciConfig];
/** Image configs are small JSON documents; anything larger is not one. */
const CONFIG_MAX_BYTES = 8 * 1024 * 1024;

export interface PutManifestResult {
  digest: string;
  subject?: string;
}

const manifestInvalid = (reason: string): RegistryApiError => new RegistryApiError('MANIFEST_INVALID', 'manifest invalid', { reason });
const blobUnknownToManifest = (digest: string): RegistryApiError =>
  new RegistryApiError('MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', { digest });

async function readSmall(stream: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) throw manifestInvalid(`config blob is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Manifests through the registry API. A pushed image manifest becomes an ordinary image (the
 * Docker API lists it); an index is tagged with the image it offers for this host's platform;
 * anything else (OCI artifacts) is stored and served byte-exact but is not an image.
 */
@Injectable()
export class ManifestsService {
  private readonly logger = new Logger('RegistryApi');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly registry: RegistryRepository,
    private readonly commits: ImageCommitService,
    @Inject(JobProducer) private readonly jobs: JobProducer,
  ) {}

  async get(repositoryId: number | null, reference: string): Promise<StoredManifest> {
    const ref = parseManifestReference(reference);
    const found =
      repositoryId === null ? null : 'tag' in ref ? await this.registry.manifestByTag(repositoryId, ref.tag) : await this.registry.manifestByDigest(repositoryId, ref.digest);
    if (!found) throw manifestUnknown(reference);
    return found;
  }

  async put(repository: string, reference: string, bytes: Buffer, contentType: string | undefined): Promise<PutManifestResult> {
    const ref = parseManifestReference(reference);
    const digest = sha256Of(bytes);
    if ('digest' in ref && ref.digest !== digest) throw digestInvalid('provided digest did not match uploaded content', { digest: ref.digest, actual: digest });
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(bytes, contentType);
    } catch (error) {
      if (error instanceof ManifestError) throw manifestInvalid(error.message);
      throw error;
    }
    const repositoryId = await this.registry.ensureRepository(repository);
    const tag = 'tag' in ref ? ref.tag : undefined;
    try {
      if (parsed.kind === 'manifest') await this.putImageManifest(repository, repositoryId, tag, digest, bytes, parsed);
      else await this.putIndex(repository, repositoryId, tag, digest, bytes, parsed);
    } catch (error) {
      // The sweep took a blob between its upload and this manifest: the client uploads it again.
      if (error instanceof BlobUnavailableError) throw blobUnknownToManifest(error.digest);
      throw error;
    }
    return { digest, subject: parsed.subject?.digest };
  }

  private async putImageManifest(repository: string, repositoryId: number, tag: string | undefined, digest: string, bytes: Buffer, manifest: ImageManifest): Promise<void> {
    // Layers with URLs (foreign / non-distributable) live elsewhere by design.
    const needed = [manifest.config, ...manifest.layers].filter((d) => !(d.urls?.length && isForeignLayerMediaType(d.mediaType))).map((d) => d.digest);
    const linked = await this.registry.blobsLinked(repositoryId, [...new Set(needed)]);
    const missing = needed.find((d) => !linked.has(d));
    if (missing) throw blobUnknownToManifest(missing);

    const config = IMAGE_CONFIG_TYPES.includes(manifest.config.mediaType) ? await this.imageConfig(manifest) : null;
    if (config) {
      await this.commits.commit({
        config: { digest: manifest.config.digest, bytes: config.bytes },
        manifest: { digest, mediaType: manifest.mediaType, bytes },
        layers: manifest.layers.map((l, i) => ({
          digest: l.digest,
          size: l.size,
          mediaType: l.mediaType,
          diffId: config.parsed.rootfs.diff_ids[i],
          // Claims until verify.v1 has read the blob: the config's diff ID, the compressed size.
          contentSize: l.size,
          verified: false,
        })),
        tags: tag ? [{ ...parseReference(repository), tag }] : [],
        // As after docker push: the image lists `repository@digest` among its RepoDigests.
        recordDigests: true,
      });
      if (!tag) {
        await this.registry.transaction(async (em) => {
          await this.registry.refs.addDigest(repository, digest, manifest.config.digest, em);
          await this.registry.refs.bumpVersion(em);
        });
      }
      await this.requestVerification(manifest.config.digest);
      return;
    }
    await this.storeNonImage(repository, repositoryId, tag, { digest, mediaType: manifest.mediaType, bytes, parsed: manifest }, null);
  }

  /**
   * Queues verify.v1 for a committed image. The push has succeeded either way: without the job the
   * rows merely stay unverified (never trusted, sizes compressed), and pushing again retries.
   */
  private async requestVerification(imageId: string): Promise<void> {
    try {
      const image = await this.registry.transaction((em) => em.findOne(ImageEntity, { where: { id: imageId }, select: ['storedAt'] }));
      if (!image) return;
      // One job per image row: pushes of an image already there share it (BullMQ keeps finished
      // ids a while), while an image deleted and pushed again has new rows and gets its own.
      // BullMQ ids may not contain ':'.
      const jobId = `verify-${imageId.replace(':', '-')}-${image.storedAt}`;
      await this.jobs.enqueue({ name: JobName.Verify, data: { imageId } }, { jobId });
    } catch (error) {
      this.logger.error(`could not queue the verification of pushed image ${imageId}: ${(error as Error).message}`);
    }
  }

  private async putIndex(repository: string, repositoryId: number, tag: string | undefined, digest: string, bytes: Buffer, index: ImageIndex): Promise<void> {
    const children = [...new Set(index.manifests.map((m) => m.digest))];
    const linked = await this.registry.manifestsLinked(repositoryId, children);
    const missing = children.find((d) => !linked.has(d));
    if (missing) throw blobUnknownToManifest(missing);
    const imageId = await this.imageForThisPlatform(index);
    await this.storeNonImage(repository, repositoryId, tag, { digest, mediaType: index.mediaType, bytes, parsed: index }, imageId);
  }

  /** Indexes and artifacts: the manifest row and its references, a tag (image or not), the links. */
  private async storeNonImage(
    repository: string,
    repositoryId: number,
    tag: string | undefined,
    manifest: { digest: string; mediaType: string; bytes: Buffer; parsed: ParsedManifest },
    imageId: string | null,
  ): Promise<void> {
    await this.registry.transaction(async (em) => {
      // An artifact's blobs are referenced from here on: claim them against the sweep.
      if (manifest.parsed.kind === 'manifest') {
        const refs = [manifest.parsed.config, ...manifest.parsed.layers].filter((d) => !(d.urls?.length && isForeignLayerMediaType(d.mediaType)));
        await claimBlobs(em, this.blobs, refs.map((d) => ({ digest: d.digest, size: d.size })));
      }
      await insertManifest(em, manifest);
      if (tag) await this.registry.refs.setTag(repository, tag, imageId, manifest.digest, em);
      else await this.registry.refs.linkManifest(repositoryId, manifest.digest, em);
      await this.registry.refs.bumpVersion(em);
    });
  }

  /** The image an index offers for the platform this service reports (dockerd's choice on pull). */
  private async imageForThisPlatform(index: ImageIndex): Promise<string | null> {
    const host = hostPlatform();
    const ordered = [...index.manifests.filter((m) => m.platform && platformMatches(host, m.platform)), ...index.manifests];
    for (const entry of ordered) {
      const row = await this.registry.transaction((em) => em.findOne(ManifestEntity, { where: { digest: entry.digest }, select: ['configDigest'] }));
      if (row?.configDigest) return row.configDigest;
    }
    return null;
  }

  private async imageConfig(manifest: ImageManifest): Promise<{ bytes: Buffer; parsed: ImageConfig }> {
    const bytes = await readSmall(await this.blobs.get(manifest.config.digest as BlobDigest), CONFIG_MAX_BYTES);
    let parsed: ImageConfig;
    try {
      parsed = parseImageConfig(bytes);
    } catch (error) {
      throw manifestInvalid(`config ${manifest.config.digest} is not a valid image config: ${(error as Error).message}`);
    }
    if (parsed.rootfs.diff_ids.length !== manifest.layers.length) {
      throw manifestInvalid(`the config lists ${parsed.rootfs.diff_ids.length} diff IDs for ${manifest.layers.length} layers`);
    }
    return { bytes, parsed };
  }

  /** DELETE by digest removes the manifest from the repository; by tag, only the tag. */
  async delete(repositoryId: number | null, reference: string): Promise<void> {
    const ref = parseManifestReference(reference);
    if (repositoryId === null) throw manifestUnknown(reference);
    const removed = 'digest' in ref ? await this.registry.unlinkManifest(repositoryId, ref.digest) : await this.registry.deleteTag(repositoryId, ref.tag);
    if (!removed) throw manifestUnknown(reference);
  }

  get maxBytes(): number {
    return this.config.registryApi.manifestMaxBytes;
  }
}
