import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { MediaType } from '@cargohold/oci';
import { type Change, writeLayer } from '@cargohold/rootfs';
import type { BlobStore } from '@cargohold/storage';
import type { BuildLayer } from './build-images.service';

/** Sum of the sizes of the regular files a change set adds or modifies (the layer's content size). */
async function contentSize(root: string, changes: readonly Change[]): Promise<number> {
  let total = 0;
  for (const change of changes) {
    if (change.kind === 'delete') continue;
    const stat = await lstat(path.join(root, change.path)).catch(() => null);
    if (stat?.isFile()) total += stat.size;
  }
  return total;
}

/**
 * Writes the changes of a step as a deterministic, uncompressed layer tar straight into the blob
 * store (never in memory). Uncompressed, so the blob digest is the diff ID: one hash, and
 * `docker save` hands the same bytes to dockerd, which stores layers uncompressed too.
 */
export async function captureLayer(blobs: BlobStore, root: string, changes: readonly Change[], sourceDateEpoch?: number): Promise<BuildLayer> {
  const tar = new PassThrough();
  const stored = blobs.put(tar);
  stored.catch(() => undefined);
  let written: { diffId: string; size: number };
  try {
    written = await writeLayer(root, [...changes], tar, { sourceDateEpoch });
    tar.end();
  } catch (error) {
    tar.destroy(error as Error);
    await stored.catch(() => undefined);
    throw error;
  }
  const blob = await stored;
  if (blob.digest !== written.diffId) throw new Error(`layer digest mismatch: wrote ${written.diffId}, stored ${blob.digest}`);
  return { digest: blob.digest, size: blob.size, mediaType: MediaType.OciLayer, diffId: blob.digest, contentSize: await contentSize(root, changes) };
}
