import { once } from 'node:events';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { ImageCommitService } from '@cargohold/image-store';
import {
  ArchiveError,
  createLayerInspector,
  type ImageConfig,
  InvalidPlatformError,
  InvalidReferenceError,
  type LayerInspection,
  MediaType,
  sha256Of,
  synthesizeManifest,
  UnsafeArchiveError,
} from '@cargohold/oci';
import { type JobContext, PermanentJobError } from '@cargohold/queue';
import { BLOB_STORE, type BlobDigest, type BlobStore, BlobNotFoundError } from '@cargohold/storage';
import { applyChanges } from './changes.util';
import { HttpSourceError, openHttpSource } from './http-source.client';

import { ImportChangeError } from './import.errors';
import { importPlatform, importTarget } from './import-target.util';
import type { ImportJob, ImportResult } from './import.types';

const CONNECT_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 60_000;
const PROGRESS_INTERVAL_MS = 100;

interface StoredLayer {
  digest: BlobDigest;
  size: number;
  mediaType: string;
  inspection: LayerInspection;
}

interface ImportSource {
  body: Readable;
  /** Bytes announced by the source, when known (for progress). */
  size: number | null;
  /** Reports bytes read so far; only URL imports show progress, as with dockerd. */
  onProgress?: (current: number, done: boolean) => Promise<void>;
}

function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}

function noop(): void {}

/** Now as Go's RFC3339Nano prints it (UTC, trailing zeros of the fraction dropped). */
function rfc3339Now(): string {
  return new Date()
    .toISOString()
    .replace(/(\.\d*?)0+Z$/, '$1Z')
    .replace(/\.Z$/, 'Z');
}

/** Writes one chunk, waiting while the stream's buffer is full. */
async function writeChunk(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.destroyed) throw new Error('stream was destroyed');
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/** Failures no retry can fix, as the message the client should see; null for the rest. */
function permanentError(err: unknown): PermanentJobError | null {
  if (err instanceof PermanentJobError) return err;
  if (
    err instanceof ArchiveError ||
    err instanceof ImportChangeError ||
    err instanceof InvalidReferenceError ||
    err instanceof InvalidPlatformError ||
    (err instanceof HttpSourceError && err.permanent)
  ) {
    return new PermanentJobError(err.message, { cause: err });
  }
  if (err instanceof BlobNotFoundError) return new PermanentJobError(`the uploaded root filesystem is gone (${err.digest}); send it again`, { cause: err });
  return null;
}

/**
 * `docker import` as a puller job: one root filesystem tar (plain or gzip, from the staging area
 * or a URL) becomes a one-layer image. The tar is read once, streamed into the blob store as
 * given while the layer inspector checks it; a hostile tar is refused before its blob becomes
 * visible and nothing is committed. Config and history are what dockerd writes.
 */
@Injectable()
export class ImageImportService {
  private readonly logger = new Logger(ImageImportService.name);

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly commits: ImageCommitService,
  ) {}

  async import(job: ImportJob, ctx: JobContext): Promise<ImportResult> {
    try {
      const result = await this.run(job, ctx);
      await this.removeStaged(job);
      return result;
    } catch (err) {
      const permanent = permanentError(err);
      // A transient failure keeps the upload for the retry; staging expiry removes leftovers.
      if (!permanent) throw err;
      await this.removeStaged(job);
      throw permanent;
    }
  }

  private async run(job: ImportJob, ctx: JobContext): Promise<ImportResult> {
    // Everything that can be refused without reading the tar is refused first, as dockerd does.
    const target = importTarget(job.repo, job.tag);
    const platform = importPlatform(job.platform);
    const containerConfig = applyChanges({}, job.changes);
    const created = this.creationTime(job);
    const comment = job.message || `Imported from ${job.sourceUrl ?? '-'}`;

    const source = await this.openSource(job, ctx);
    const layer = await this.storeLayer(source, ctx);

    const image: ImageConfig = {
      comment,
      created,
      config: containerConfig,
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      rootfs: { type: 'layers', diff_ids: [layer.inspection.diffId] },
      history: [{ created, comment }],
    };
    const configBytes = Buffer.from(JSON.stringify(image));
    const configDigest = sha256Of(configBytes);
    await this.blobs.put(Readable.from([configBytes]), { digest: configDigest, size: configBytes.length });
    const manifest = synthesizeManifest({ digest: configDigest, size: configBytes.length }, [layer]);
    await this.blobs.put(Readable.from([manifest.bytes]), { digest: manifest.digest, size: manifest.bytes.length });

    const committed = await this.commits.commit({
      config: { digest: configDigest, bytes: configBytes },
      manifest,
      layers: [{ digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffId: layer.inspection.diffId, contentSize: layer.inspection.contentSize }],
      tags: target ? [target.ref] : [],
      // Like dockerd, an imported image has no repository digest until it is pushed.
      recordDigests: false,
    });
    return target ? { id: committed.imageId, tag: target.familiar } : { id: committed.imageId };
  }

  private creationTime(job: ImportJob): string {
    if (job.created === undefined) return rfc3339Now();
    if (Number.isNaN(Date.parse(job.created))) throw new PermanentJobError(`invalid creation time ${JSON.stringify(job.created)}: expected RFC 3339`);
    return job.created;
  }

  private async openSource(job: ImportJob, ctx: JobContext): Promise<ImportSource> {
    if (job.sourceKey !== undefined) return { body: await this.blobs.openStaged(job.sourceKey), size: null };
    if (job.sourceUrl === undefined) throw new PermanentJobError('import job names no source: sourceKey or sourceUrl is required');
    const fetched = await openHttpSource(job.sourceUrl, {
      maxBytes: this.config.loadMaxBytes,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      signal: ctx.signal,
    });
    await ctx.progress({ status: `Downloading from ${fetched.url}` });
    let last = 0;
    const onProgress = async (current: number, done: boolean): Promise<void> => {
      const now = Date.now();
      if (!done && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      await ctx.progress({ status: 'Importing', progressDetail: fetched.size === null ? { current } : { current, total: fetched.size } });
    };
    return { body: fetched.body, size: fetched.size, onProgress };
  }

  /**
   * Streams the source once into the blob store and the layer inspector side by side. The blob
   * stream is only ended after the inspector has accepted the whole tar, so a refused tar never
   * becomes a visible blob.
   */
  private async storeLayer(source: ImportSource, ctx: JobContext): Promise<StoredLayer> {
    const maxBytes = this.config.loadMaxBytes;
    const inspector = createLayerInspector({ maxBytes, maxRatio: this.config.maxGzipRatio });
    const blob = new PassThrough();
    blob.on('error', noop);
    const put = this.blobs.put(blob);
    put.catch(noop);
    // Either side failing ends the copy at once; the blob store cannot legitimately finish first.
    const early = Promise.race([
      put.then(() => Promise.reject(new Error('the blob store finished before the layer was complete'))),
      inspector.result.then(never),
    ]);
    early.catch(noop);

    let read = 0;
    try {
      for await (const chunk of source.body as AsyncIterable<Buffer>) {
        ctx.signal.throwIfAborted();
        read += chunk.length;
        if (read > maxBytes) throw new UnsafeArchiveError(`the root filesystem is larger than the import limit of ${maxBytes} bytes`);
        const writes = Promise.all([writeChunk(blob, chunk), writeChunk(inspector.sink, chunk)]);
        writes.catch(noop);
        await Promise.race([writes, early]);
        await source.onProgress?.(read, false);
      }
      await source.onProgress?.(read, true);
      inspector.sink.end();
      const inspection = await Promise.race([inspector.result, early]);
      blob.end();
      const stored = await put;
      const mediaType = inspection.compressed ? MediaType.OciLayerGzip : MediaType.OciLayer;
      return { digest: stored.digest, size: stored.size, mediaType, inspection };
    } catch (err) {
      blob.destroy(err as Error);
      inspector.sink.destroy();
      source.body.destroy();
      await put.catch(noop);
      throw err;
    }
  }

  private async removeStaged(job: ImportJob): Promise<void> {
    if (job.sourceKey === undefined) return;
    await this.blobs
      .removeStaged(job.sourceKey)
      .catch((e: unknown) => this.logger.warn(`could not remove staged import source ${job.sourceKey}: ${String(e)}`));
  }
}
