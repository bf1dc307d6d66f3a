import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createLayerInspector, type LayerInspection, type LayerInspectorLimits, type Sha256Digest } from '@cargohold/oci';
import type { RegistrySession } from '@cargohold/registry-client';
import { type BlobDigest, type BlobStore, DigestMismatchError, SizeMismatchError } from '@cargohold/storage';
import { SyncError } from './sync-errors.util';

export interface LayerBlobDownload {
  session: RegistrySession;
  blobs: BlobStore;
  /** Repository path on the registry (`library/busybox`). */
  repository: string;
  digest: BlobDigest;
  size: number;
  limits: LayerInspectorLimits;
  signal: AbortSignal;
  /** Bytes received so far (called synchronously for every chunk). */
  onProgress?(received: number): void;
  /** Every byte is in; the digest is being checked (dockerd's "Verifying Checksum"). */
  onReceived?(): Promise<void>;
}

function noop(): void {}

async function writeChunk(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.destroyed) throw new Error('stream was destroyed');
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/** dockerd's text for a blob whose bytes do not hash to its digest (or are not as long as announced). */
export function layerVerificationError(digest: string, cause: unknown): SyncError {
  return new SyncError(`filesystem layer verification failed for digest ${digest}`, 500, { cause });
}

/**
 * Streams a layer from the registry into the blob store and the layer inspector side by side,
 * never holding it in memory. The store verifies digest and size before the blob becomes
 * visible, so a tampered or truncated layer leaves nothing behind. The digest is judged before
 * the content: a corrupted gzip stream is reported as failed verification, not as a bad tar
 * (a layer the inspector refuses, yet with the right digest, is the registry's true content).
 */
export async function downloadLayerBlob(download: LayerBlobDownload): Promise<LayerInspection> {
  const { digest, size } = download;
  // For an uncompressed layer the diff ID is the blob digest, which the store verifies: no second hash.
  const inspector = createLayerInspector(download.limits, { plainDigest: async () => digest as Sha256Digest });
  // The inspector's sink keeps draining after a refusal, so the copy below never stalls on it.
  const blob = new PassThrough({ highWaterMark: 1024 * 1024 });
  blob.on('error', noop);
  const put = download.blobs.put(blob, { digest, size });
  put.catch(noop);
  const early = put.then(() => Promise.reject(new Error('the blob store finished before the layer was complete')));
  early.catch(noop);
  const source = download.session.openBlob(download.repository, digest, size, { signal: download.signal, onProgress: download.onProgress });
  source.on('error', noop);
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const writes = Promise.all([writeChunk(blob, chunk), writeChunk(inspector.sink, chunk)]);
      writes.catch(noop);
      await Promise.race([writes, early]);
    }
    await download.onReceived?.();
    inspector.sink.end();
    blob.end();
    await put;
  } catch (error) {
    blob.destroy(error as Error);
    inspector.sink.destroy();
    source.destroy();
    await put.catch(noop);
    if (error instanceof DigestMismatchError || error instanceof SizeMismatchError) throw layerVerificationError(digest, error);
    throw error;
  }
  return inspector.result;
}

/** Diff ID and sizes of a layer already in the store (one read, no second hash for plain tars). */
export async function inspectStoredLayer(blobs: BlobStore, digest: BlobDigest, limits: LayerInspectorLimits, signal?: AbortSignal): Promise<LayerInspection> {
  const inspector = createLayerInspector(limits, { plainDigest: async () => digest as Sha256Digest });
  await pipeline(await blobs.get(digest), inspector.sink, { signal });
  return inspector.result;
}
