import { Readable } from 'node:stream';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { ImageCommitService, type NewImageLayer } from '@cargohold/image-store';
import {
  type Descriptor,
  formatPlatform,
  formatReference,
  hostPlatform,
  type ImageManifest,
  type LayerInspectorLimits,
  MediaType,
  type ParsedManifest,
  type Platform,
  parseImageConfig,
  parseManifest,
  parsePlatform,
  SHA256_DIGEST_RE,
  sha256Of,
} from '@cargohold/oci';
import type { JobContext } from '@cargohold/queue';
import type { PullJob, PullResult } from '@cargohold/queue-contracts';
import { RegistryClient, RegistryError, type RegistrySession, RegistryUnreachableError, selectPlatformManifest, verifyingStream } from '@cargohold/registry-client';
import { BLOB_STORE, type BlobDigest, type BlobStore } from '@cargohold/storage';
import { BLOB_DOWNLOAD_LOCK, type BlobDownloadLock, downloadOnce } from './blob-download-lock';
import { layerProgressId, progressCounts, progressUpdate, statusMessage } from './docker-progress.util';
import { downloadLayerBlob, inspectStoredLayer } from './layer-blob';
import { ProgressReporter } from './progress-reporter';
import { registryCredentials } from './registry-credentials.util';
import { ProgressThrottle } from './progress-throttle';
import { familiarTarget, type PullPlan, type PullTarget, planPull, pullingFromId, type RepositoryName } from './pull-plan.util';
import { REGISTRY_SYNC_OPTIONS, type RegistrySyncOptions, resolveRegistrySyncOptions } from './registry-sync.options';
import { type PulledIndex, RegistrySyncRepository } from './registry-sync.repository';
import { permanentFailure, SyncError, translateRegistryPullError } from './sync-errors.util';
import { runPool } from './task-pool.util';

/** dockerd's errRootFSMismatch. */
const ROOTFS_MISMATCH = "layers from manifest don't match image configuration";
const MAX_CONFIG_BYTES = 32 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;
/** Local layer reads (blobs present without a known diff ID) at a time. */
const INSPECT_CONCURRENCY = 2;

/** Media types dockerd accepts for configs and layers (prefixes end at a `.`), see checkSupportedMediaType. */
const SUPPORTED_MEDIA_TYPE_PREFIXES = ['application/vnd.oci.image', 'application/vnd.docker'];
const SUPPORTED_MEDIA_TYPES = ['application/octet-stream', 'application/json', 'text/html', ''];
/** Config media types dockerd pulls as images from a Docker schema2 manifest (defaultImageTypes). */
const IMAGE_CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.DockerConfig, MediaType.OciConfig, ...SUPPORTED_MEDIA_TYPES];

interface ResolvedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  parsed: ParsedManifest;
  /** Read from our own database rather than fetched. */
  local: boolean;
}

interface LayerTask {
  descriptor: Descriptor & { digest: BlobDigest };
  progressId: string;
  /** Positions of this blob in the manifest (a blob may appear more than once). */
  positions: number[];
  /** present: blob and diff ID known; inspect: blob present, diff ID to read; download: missing. */
  action: 'present' | 'inspect' | 'download';
  waiting: boolean;
  diffId?: string;
  contentSize?: number;
  /** Fetched by this pull or by another puller we waited for: gets a `Pull complete` line. */
  fetched: boolean;
}

function isSupportedMediaType(mediaType: string): boolean {
  const lower = mediaType.toLowerCase();
  return SUPPORTED_MEDIA_TYPES.includes(lower) || SUPPORTED_MEDIA_TYPE_PREFIXES.some((p) => lower === p || lower.startsWith(`${p}.`));
}

function assertSupportedMediaType(mediaType: string): void {
  if (!isSupportedMediaType(mediaType)) throw new SyncError(`unsupported media type ${mediaType}`, 400);
}

function assertStorableDigest(digest: string): asserts digest is BlobDigest {
  if (!SHA256_DIGEST_RE.test(digest)) throw new SyncError(`cannot store blob ${digest}: only sha256 digests are supported`, 400);
}

async function collect(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      stream.destroy();
      throw new SyncError(`${what} is larger than ${limit} bytes`, 500);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * `docker pull` as a puller job, with dockerd's behaviour and progress lines: resolves the
 * reference (tag, digest, or every tag), picks the platform from an index, skips what the store
 * already has, downloads the rest in parallel while verifying digests and diff IDs, commits the
 * image atomically and records its tag and repository digest. Safe to run twice, and safe to run
 * on many replicas at once: each missing layer is downloaded once (BlobDownloadLock).
 */
@Injectable()
export class PullService {
  private readonly options: RegistrySyncOptions;
  private readonly client: RegistryClient;
  private readonly limits: LayerInspectorLimits;

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly records: RegistrySyncRepository,
    private readonly commits: ImageCommitService,
    @Inject(BLOB_DOWNLOAD_LOCK) private readonly lock: BlobDownloadLock,
    @Optional() client?: RegistryClient,
    @Optional() @Inject(REGISTRY_SYNC_OPTIONS) options?: Partial<RegistrySyncOptions>,
  ) {
    this.options = resolveRegistrySyncOptions(options);
    this.client =
      client ??
      new RegistryClient({ insecureRegistries: this.options.insecureRegistries, mirrors: this.options.mirrors, dockerHubEndpoint: this.options.dockerHubEndpoint });
    this.limits = this.options.maxGzipRatio === undefined ? {} : { maxRatio: this.options.maxGzipRatio };
  }

  async pull(job: PullJob, ctx: JobContext): Promise<PullResult> {
    const reporter = new ProgressReporter(ctx);
    let plan: PullPlan | undefined;
    try {
      plan = planPull(job);
      const platform = job.platform ? parsePlatform(job.platform) : null;
      const session = this.client.session(plan.repository.domain, registryCredentials(job.auth));
      const targets: PullTarget[] =
        plan.targets === 'all-tags' ? (await session.listTags(plan.repository.path, { signal: ctx.signal })).map((tag) => ({ kind: 'tag', tag })) : [plan.targets];
      const result: PullResult = { images: [] };
      let updated = false;
      for (const target of targets) {
        const pulled = await this.pullTarget(session, plan.repository, target, platform, reporter, ctx.signal);
        result.images.push(pulled);
        updated ||= pulled.downloaded;
      }
      const shown = familiarTarget(plan.repository, plan.targets);
      await reporter.send(statusMessage(updated ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}`));
      await reporter.flush();
      return result;
    } catch (error) {
      // Lines still queued go out before the failure the worker host reports after us.
      await reporter.settle();
      if (ctx.signal.aborted) throw error;
      const repository = plan?.repository;
      const failure = permanentFailure(error, (registryError) =>
        translateRegistryPullError(registryError, {
          repositoryName: repository?.name ?? job.image,
          familiarRef: repository && plan ? familiarTarget(repository, plan.targets) : job.image,
          fullRef: repository && plan && plan.targets !== 'all-tags' ? formatReference({ ...repository, ...targetParts(plan.targets) }) : job.image,
        }),
      );
      if (!failure) throw error;
      // The worker host reports it (status and text) to whoever follows the job.
      throw failure;
    }
  }

  private async pullTarget(
    session: RegistrySession,
    repository: RepositoryName,
    target: PullTarget,
    platform: Platform | null,
    reporter: ProgressReporter,
    signal: AbortSignal,
  ): Promise<PullResult['images'][number]> {
    const top = await this.resolve(session, repository.path, target, signal);
    if (top.parsed.kind === 'manifest' && top.parsed.mediaType === MediaType.DockerManifest) assertImageConfigClass(top.parsed.config.mediaType);
    await reporter.send(statusMessage(`Pulling from ${repository.path}`, pullingFromId(repository, target)));

    let manifest = top;
    for (let depth = 0; manifest.parsed.kind === 'index'; depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new SyncError(`manifest list ${top.digest} nests deeper than ${MAX_INDEX_DEPTH} levels`, 500);
      const want = platform ?? hostPlatform();
      const chosen = selectPlatformManifest(manifest.parsed, want);
      if (!chosen) throw new SyncError(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`, 500);
      manifest = await this.loadManifest(session, repository.path, chosen.digest, signal);
    }

    const previous = target.kind === 'tag' ? await this.records.tagTarget(repository.name, target.tag) : await this.records.digestTarget(repository.name, top.digest);
    const imageId = await this.pullImage(session, repository, manifest, target.kind === 'tag' ? target.tag : undefined, top.digest === manifest.digest && target.kind === 'tag', reporter, signal);
    await reporter.send(statusMessage(`Digest: ${top.digest}`));
    const index: PulledIndex | undefined = top.parsed.kind === 'index' ? { digest: top.digest, mediaType: top.mediaType, bytes: top.bytes, parsed: top.parsed } : undefined;
    if (index) await this.storeBytes(top.digest, top.bytes);
    await this.records.recordPull({
      repository: repository.name,
      imageId,
      manifestDigest: manifest.digest,
      tag: target.kind === 'tag' ? target.tag : undefined,
      repoDigest: top.digest,
      index,
    });
    return { reference: familiarTarget(repository, target), id: imageId, manifestDigest: top.digest, downloaded: previous !== imageId };
  }

  /** The manifest (or index) a target names: a HEAD for a tag, then our copy if we have that digest. */
  private async resolve(session: RegistrySession, path: string, target: PullTarget, signal: AbortSignal): Promise<ResolvedManifest> {
    if (target.kind === 'digest') return this.loadManifest(session, path, target.digest, signal);
    let head: { digest: string } | null = null;
    try {
      head = await session.headManifest(path, target.tag, signal);
    } catch (error) {
      // A HEAD answer has no body: a GET tells why (as distribution's client does).
      if (!(error instanceof RegistryError) || error instanceof RegistryUnreachableError || signal.aborted) throw error;
    }
    if (head) return this.loadManifest(session, path, head.digest, signal);
    const content = await session.getManifest(path, target.tag, signal);
    return { ...content, parsed: parseManifest(content.bytes, content.mediaType), local: false };
  }

  private async loadManifest(session: RegistrySession, path: string, digest: string, signal: AbortSignal): Promise<ResolvedManifest> {
    const stored = await this.records.findManifest(digest);
    if (stored && sha256Of(stored.bytes) === digest) {
      return { digest, mediaType: stored.mediaType, bytes: stored.bytes, parsed: parseManifest(stored.bytes, stored.mediaType), local: true };
    }
    const content = await session.getManifest(path, digest, signal);
    return { ...content, parsed: parseManifest(content.bytes, content.mediaType), local: false };
  }

  /**
   * Makes the image of `resolved` exist in the store: nothing to do when we have both the image
   * and this manifest (dockerd prints no layer line then); else each layer is found in the store
   * or downloaded, and the image committed with the tag (and, for a manifest pulled by tag, its
   * repository digest) in one transaction.
   */
  private async pullImage(
    session: RegistrySession,
    repository: RepositoryName,
    resolved: ResolvedManifest,
    tag: string | undefined,
    recordDigest: boolean,
    reporter: ProgressReporter,
    signal: AbortSignal,
  ): Promise<string> {
    const manifest = resolved.parsed as ImageManifest;
    const id = manifest.config.digest;
    const imageExists = await this.records.imageExists(id);
    if (imageExists && resolved.local) return id;

    assertSupportedMediaType(manifest.config.mediaType);
    assertStorableDigest(manifest.config.digest);
    for (const layer of manifest.layers) {
      assertSupportedMediaType(layer.mediaType);
      assertStorableDigest(layer.digest);
    }
    const configBytes = await this.fetchConfig(session, repository.path, manifest.config, signal);
    const config = parseImageConfig(configBytes);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) throw new SyncError(ROOTFS_MISMATCH, 500);

    const tasks = await this.planLayers(manifest);
    for (const task of tasks) {
      if (task.action === 'download') await reporter.send(progressUpdate(task.progressId, 'Pulling fs layer'));
      else if (!imageExists) await reporter.send(progressUpdate(task.progressId, 'Already exists'));
    }
    const downloads = tasks.filter((t) => t.action === 'download');
    for (const task of downloads.slice(this.options.concurrency)) {
      task.waiting = true;
      await reporter.send(progressUpdate(task.progressId, 'Waiting'));
    }
    await Promise.all([
      runPool(downloads, this.options.concurrency, (task, poolSignal) => this.fetchLayer(session, repository.path, task, reporter, poolSignal), signal),
      runPool(tasks.filter((t) => t.action === 'inspect'), INSPECT_CONCURRENCY, async (task, poolSignal) => {
        const inspection = await inspectStoredLayer(this.blobs, task.descriptor.digest, this.limits, poolSignal);
        task.diffId = inspection.diffId;
        task.contentSize = inspection.contentSize;
      }, signal),
    ]);

    const byDigest = new Map(tasks.map((t) => [t.descriptor.digest, t]));
    const layers: NewImageLayer[] = manifest.layers.map((layer, position) => {
      const task = byDigest.get(layer.digest as BlobDigest);
      if (!task || task.diffId === undefined || task.contentSize === undefined) throw new Error(`internal error: layer ${layer.digest} was not resolved`);
      if (task.diffId !== diffIds[position]) throw new SyncError(ROOTFS_MISMATCH, 500);
      return { digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffId: task.diffId, contentSize: task.contentSize };
    });

    await this.storeBytes(resolved.digest, resolved.bytes);
    await this.commits.commit({
      config: { digest: id, bytes: configBytes },
      manifest: { digest: resolved.digest, mediaType: resolved.mediaType, bytes: resolved.bytes },
      layers,
      tags: tag === undefined ? [] : [{ ...repository, tag }],
      recordDigests: recordDigest,
    });
    for (const task of tasks) if (task.fetched) await reporter.send(progressUpdate(task.progressId, 'Pull complete'));
    return id;
  }

  /** One task per distinct blob, bottom first: present with a known diff ID, present, or missing. */
  private async planLayers(manifest: ImageManifest): Promise<LayerTask[]> {
    const tasks: LayerTask[] = [];
    const seen = new Map<string, LayerTask>();
    manifest.layers.forEach((layer, position) => {
      const existing = seen.get(layer.digest);
      if (existing) {
        existing.positions.push(position);
        return;
      }
      const task: LayerTask = {
        descriptor: layer as Descriptor & { digest: BlobDigest },
        progressId: layerProgressId(layer.digest),
        positions: [position],
        action: 'download',
        waiting: false,
        fetched: false,
      };
      seen.set(layer.digest, task);
      tasks.push(task);
    });
    const [known, present] = await Promise.all([
      this.records.knownLayers(tasks.map((t) => t.descriptor.digest)),
      Promise.all(tasks.map((t) => this.blobs.stat(t.descriptor.digest))),
    ]);
    tasks.forEach((task, i) => {
      if (!present[i]) return;
      const facts = known.get(task.descriptor.digest);
      if (facts) {
        task.action = 'present';
        task.diffId = facts.diffId;
        task.contentSize = facts.contentSize;
      } else {
        task.action = 'inspect';
      }
    });
    return tasks;
  }

  /** Downloads a missing layer once across all pullers; waits for (and then reads) a download someone else runs. */
  private async fetchLayer(session: RegistrySession, path: string, task: LayerTask, reporter: ProgressReporter, signal: AbortSignal): Promise<void> {
    const { digest, size } = task.descriptor;
    const outcome = await downloadOnce(this.lock, digest, {
      signal,
      isPresent: async () => (await this.blobs.stat(digest)) !== null,
      onWait: () => {
        if (!task.waiting) {
          task.waiting = true;
          reporter.post(progressUpdate(task.progressId, 'Waiting'));
        }
      },
      download: async () => {
        const throttle = new ProgressThrottle(size);
        const inspection = await downloadLayerBlob({
          session,
          repository: path,
          digest,
          size,
          blobs: this.blobs,
          limits: this.limits,
          signal,
          onProgress: (received) => {
            if (throttle.shouldReport(received, Date.now())) reporter.post(progressCounts(task.progressId, 'Downloading', received, size));
          },
          onReceived: () => {
            if (throttle.atEnd(size)) reporter.post(progressCounts(task.progressId, 'Downloading', size, size));
            return reporter.send(progressUpdate(task.progressId, 'Verifying Checksum'));
          },
        });
        task.diffId = inspection.diffId;
        task.contentSize = inspection.contentSize;
      },
    });
    if (outcome === 'present') {
      // Another puller stored it: its diff ID is in the database once that pull committed, else in the blob.
      const facts = (await this.records.knownLayers([digest])).get(digest);
      const inspection = facts ?? (await inspectStoredLayer(this.blobs, digest, this.limits, signal));
      task.diffId = inspection.diffId;
      task.contentSize = inspection.contentSize;
    }
    task.fetched = true;
    await reporter.send(progressUpdate(task.progressId, 'Download complete'));
  }

  /** The image config: from the store when present, else downloaded, verified and stored. */
  private async fetchConfig(session: RegistrySession, path: string, descriptor: Descriptor, signal: AbortSignal): Promise<Buffer> {
    const digest = descriptor.digest as BlobDigest;
    if (await this.blobs.stat(digest)) return collect(await this.blobs.get(digest), MAX_CONFIG_BYTES, `image config ${digest}`);
    if (descriptor.size > MAX_CONFIG_BYTES) throw new SyncError(`error pulling image configuration: ${digest} is larger than ${MAX_CONFIG_BYTES} bytes`, 500);
    let bytes: Buffer;
    const source = session.openBlob(path, digest, descriptor.size, { signal });
    try {
      const verified = source.pipe(verifyingStream(digest, descriptor.size));
      source.on('error', (error) => verified.destroy(error));
      bytes = await collect(verified, MAX_CONFIG_BYTES, `image config ${digest}`);
    } catch (error) {
      source.destroy();
      if (signal.aborted) throw error;
      if (error instanceof RegistryError && (error.code === 'DIGEST_INVALID' || error.code === 'SIZE_INVALID')) {
        throw new SyncError(`error pulling image configuration: image config verification failed for digest ${digest}`, 500, { cause: error });
      }
      if (error instanceof RegistryError) throw new SyncError(`error pulling image configuration: ${error.message}`, error.status === 401 ? 401 : 500, { cause: error });
      throw error;
    }
    await this.blobs.put(Readable.from([bytes]), { digest, size: bytes.length });
    return bytes;
  }

  /** Keeps manifest bytes in the blob store too (`docker save` reads them from there). */
  private async storeBytes(digest: string, bytes: Buffer): Promise<void> {
    if (!SHA256_DIGEST_RE.test(digest) || (await this.blobs.stat(digest as BlobDigest))) return;
    await this.blobs.put(Readable.from([bytes]), { digest: digest as BlobDigest, size: bytes.length });
  }
}

function targetParts(target: PullTarget): { tag?: string; digest?: string } {
  if (target.kind === 'tag') return { tag: target.tag };
  return target.tag ? { tag: target.tag, digest: target.digest } : { digest: target.digest };
}

/** dockerd's validateMediaType for Docker schema2 manifests: only image configs are pulled. */
function assertImageConfigClass(mediaType: string): void {
  if (IMAGE_CONFIG_MEDIA_TYPES.includes(mediaType)) return;
  const kind = mediaType === MediaType.DockerPluginConfig ? 'plugin' : 'unknown';
  throw new SyncError(`Encountered remote "${mediaType}"(${kind}) when fetching`, 400);
}
