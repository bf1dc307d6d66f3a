import { Inject, Injectable, Optional } from '@nestjs/common';
import { familiarName, InvalidReferenceError, isValidTag, parseReference } from '@cargohold/oci';
import type { JobContext } from '@cargohold/queue';
import type { PushJob, PushResult } from '@cargohold/queue-contracts';
import { RegistryClient, type RegistrySession } from '@cargohold/registry-client';
import { BLOB_STORE, type BlobDigest, type BlobStore } from '@cargohold/storage';
import { auxMessage, layerProgressId, progressCounts, progressUpdate, statusMessage } from './docker-progress.util';
import { ProgressReporter } from './progress-reporter';
import { registryCredentials } from './registry-credentials.util';
import { ProgressThrottle } from './progress-throttle';
import type { RepositoryName } from './pull-plan.util';
import { REGISTRY_SYNC_OPTIONS, type RegistrySyncOptions, resolveRegistrySyncOptions } from './registry-sync.options';
import { type PushableImage, RegistrySyncRepository } from './registry-sync.repository';
import { permanentFailure, SyncError, translateRegistryPushError } from './sync-errors.util';
import { runPool } from './task-pool.util';

interface PushLayer {
  digest: BlobDigest;
  size: number;
  progressId: string;
  waiting: boolean;
}

/**
 * `docker push` as a puller job, with dockerd's progress lines: every local tag of the
 * repository (or one), each layer checked on the registry first, mounted from another repository
 * of the same registry we know has it, or uploaded from the blob store; then the config and the
 * manifest exactly as stored, so the registry serves the digest we have. Records
 * `repository@digest` locally, as dockerd does. Safe to run twice.
 */
@Injectable()
export class PushService {
  private readonly options: RegistrySyncOptions;
  private readonly client: RegistryClient;

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly records: RegistrySyncRepository,
    @Optional() client?: RegistryClient,
    @Optional() @Inject(REGISTRY_SYNC_OPTIONS) options?: Partial<RegistrySyncOptions>,
  ) {
    this.options = resolveRegistrySyncOptions(options);
    this.client =
      client ??
      new RegistryClient({ insecureRegistries: this.options.insecureRegistries, mirrors: this.options.mirrors, dockerHubEndpoint: this.options.dockerHubEndpoint });
  }

  async push(job: PushJob, ctx: JobContext): Promise<PushResult> {
    const reporter = new ProgressReporter(ctx);
    try {
      const ref = parseReference(job.name);
      const tag = job.tag || ref.tag;
      if (tag !== undefined && !isValidTag(tag)) throw new InvalidReferenceError('invalid tag format', tag);
      const repository: RepositoryName = { name: ref.name, domain: ref.domain, path: ref.path };
      const familiar = familiarName(ref.name);

      // dockerd announces the repository before looking for anything, so even a missing image fails in the stream.
      await reporter.send(statusMessage(`The push refers to repository [${ref.name}]`));
      const local = await this.records.repositoryReferences(ref.name);
      if (local.tags.length === 0 && local.digests === 0) throw new SyncError(`An image does not exist locally with the tag: ${familiar}`, 404);
      if (ref.digest && !job.tag) throw new SyncError('cannot push a digest reference', 400);
      const targets = tag === undefined ? local.tags : local.tags.filter((t) => t.tag === tag);
      if (targets.length === 0) throw new SyncError(tag === undefined ? `no tags to push for ${familiar}` : `tag does not exist: ${familiar}:${tag}`, 404);

      const session = this.client.session(ref.domain, registryCredentials(job.auth));
      // Blobs known to be in the target repository, so later tags skip the HEAD.
      const remote = new Set<string>();
      const result: PushResult = { pushed: [] };
      for (const target of targets) {
        const image = await this.records.pushableImage(target.imageId);
        if (!image) throw new SyncError(`could not find image from tag ${familiar}:${target.tag}: its manifest is not in the store`, 500);
        result.pushed.push(await this.pushTag(session, repository, target.tag, target.imageId, image, remote, reporter, ctx.signal));
      }
      await reporter.flush();
      return result;
    } catch (error) {
      // Lines still queued go out before the failure the worker host reports after us.
      await reporter.settle();
      if (ctx.signal.aborted) throw error;
      const failure = permanentFailure(error, translateRegistryPushError);
      if (!failure) throw error;
      // The worker host reports it (status and text) to whoever follows the job.
      throw failure;
    }
  }

  private async pushTag(
    session: RegistrySession,
    repository: RepositoryName,
    tag: string,
    imageId: string,
    image: PushableImage,
    remote: Set<string>,
    reporter: ProgressReporter,
    signal: AbortSignal,
  ): Promise<PushResult['pushed'][number]> {
    // dockerd lists layers top-most first, named by diff ID, and moves each distinct one once.
    const layers: PushLayer[] = [];
    const seen = new Set<string>();
    for (const layer of [...image.layers].reverse()) {
      const progressId = layerProgressId(layer.diffId);
      await reporter.send(progressUpdate(progressId, 'Preparing'));
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      layers.push({ digest: layer.digest as BlobDigest, size: layer.size, progressId, waiting: false });
    }
    for (const layer of layers.slice(this.options.uploadConcurrency)) {
      layer.waiting = true;
      await reporter.send(progressUpdate(layer.progressId, 'Waiting'));
    }
    await runPool(layers, this.options.uploadConcurrency, (layer, poolSignal) => this.pushLayer(session, repository, layer, remote, reporter, poolSignal), signal);

    // The config goes up silently, as with dockerd.
    const config = image.config.digest as BlobDigest;
    if (!remote.has(config) && !(await session.hasBlob(repository.path, config, signal))) {
      await session.uploadBlob(repository.path, config, image.config.size, () => this.blobs.get(config), { signal });
    }
    remote.add(config);

    const { digest } = await session.putManifest(repository.path, tag, image.manifest.bytes, image.manifest.mediaType, signal);
    const size = image.manifest.bytes.length;
    await reporter.send(statusMessage(`${tag}: digest: ${digest} size: ${size}`));
    await this.records.recordDigest(repository.name, digest, imageId);
    await reporter.send(auxMessage({ Tag: tag, Digest: digest, Size: size }));
    return { tag, digest, size };
  }

  private async pushLayer(session: RegistrySession, repository: RepositoryName, layer: PushLayer, remote: Set<string>, reporter: ProgressReporter, signal: AbortSignal): Promise<void> {
    if (remote.has(layer.digest) || (await session.hasBlob(repository.path, layer.digest, signal))) {
      remote.add(layer.digest);
      await reporter.send(progressUpdate(layer.progressId, 'Layer already exists'));
      return;
    }
    for (const source of await this.records.mountSources(repository.domain, layer.digest, repository.name)) {
      const from = source.slice(repository.domain.length + 1);
      if (await session.mountBlob(repository.path, layer.digest, from, signal)) {
        remote.add(layer.digest);
        await reporter.send(progressUpdate(layer.progressId, `Mounted from ${from}`));
        return;
      }
    }
    const throttle = new ProgressThrottle(layer.size);
    await session.uploadBlob(repository.path, layer.digest, layer.size, () => this.blobs.get(layer.digest), {
      signal,
      onProgress: (sent) => {
        if (throttle.shouldReport(sent, Date.now())) reporter.post(progressCounts(layer.progressId, 'Pushing', sent, layer.size));
      },
    });
    if (throttle.atEnd(layer.size)) reporter.post(progressCounts(layer.progressId, 'Pushing', layer.size, layer.size));
    remote.add(layer.digest);
    await reporter.send(progressUpdate(layer.progressId, 'Pushed'));
  }
}
