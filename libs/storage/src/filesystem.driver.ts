import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { createWriteStream, statSync } from 'node:fs';
import { mkdir, open, opendir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertExpectation, assertRange, assertStagingKey, blobPath, verifyExpectation } from './blob-key.util';
import type { BlobDigest, BlobExpectation, BlobInfo, BlobListing, BlobStore, ByteRange, StagedInfo } from './blob-store';
import { BlobNotFoundError } from './blob-store';
import { Sha256Digester } from './sha256-digester.util';

const BLOB_NAME = /^[0-9a-f]{64}$/;

/**
 * Blob store on a local directory (the embedded default):
 * `<root>/blobs/sha256/<hex>`, staged data at `<root>/uploads/<key>`, writes in progress under
 * `<root>/tmp/`. Every write goes to a private temp file, is fsynced, then renamed into place,
 * so readers only ever see complete files and concurrent writers of one digest cannot clash.
 * `tmp/` must be on the same file system as the rest (rename is only atomic within one).
 */
const READ_CHUNK = 2 * 1024 * 1024;

export class FilesystemBlobStore implements BlobStore {
  readonly driver = 'filesystem' as const;
  readonly root: string;
  private ready: Promise<void> | undefined;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Create the directory layout; idempotent, also done lazily by every write. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      for (const dir of [this.blobDir, this.uploadDir, this.tmpDir]) await mkdir(dir, { recursive: true });
    })().catch((error: unknown) => {
      this.ready = undefined; // let a later call retry, e.g. once the volume is mounted
      throw error;
    });
    return this.ready;
  }

  async stat(digest: BlobDigest): Promise<BlobInfo | null> {
    const file = this.blobFile(digest);
    try {
      const info = await stat(file);
      return { digest, size: info.size };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async get(digest: BlobDigest, range?: ByteRange): Promise<Readable> {
    const file = this.blobFile(digest);
    // Open first: a missing blob must reject here, not later as a stream error.
    const handle = await open(file, 'r').catch((error: unknown) => {
      throw isNotFound(error) ? new BlobNotFoundError(digest) : error;
    });
    try {
      // 2 MiB reads instead of 64 KiB: a thirty-second of the syscalls and socket writes per blob served.
      if (!range) return handle.createReadStream({ highWaterMark: READ_CHUNK });
      assertRange(digest, range, (await handle.stat()).size);
      return handle.createReadStream({ start: range.start, end: range.end, highWaterMark: READ_CHUNK });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async put(source: Readable, expect?: BlobExpectation): Promise<BlobInfo> {
    assertExpectation(expect);
    const written = await this.writeTemp(source, expect?.size);
    try {
      const info = { digest: written.digest(), size: written.size };
      verifyExpectation(expect, info);
      // rename replaces atomically; a concurrent writer of the same digest wrote the same bytes.
      await rename(written.file, this.blobFile(info.digest));
      await syncDir(this.blobDir);
      return info;
    } catch (error) {
      await unlink(written.file).catch(() => undefined);
      throw error;
    }
  }

  async delete(digest: BlobDigest): Promise<void> {
    await unlink(this.blobFile(digest)).catch(ignoreNotFound);
  }

  async *list(): AsyncIterable<BlobListing> {
    for await (const entry of await this.openDir(this.blobDir)) {
      if (!entry.isFile() || !BLOB_NAME.test(entry.name)) continue;
      // A local stat takes microseconds; a thread-pool round trip per blob made listing a large
      // store (the gc sweep's first step) wait on the pool instead.
      const info = statSync(path.join(this.blobDir, entry.name), { throwIfNoEntry: false });
      if (info) yield { digest: `sha256:${entry.name}`, size: info.size, modified: info.mtime };
    }
  }

  async stage(key: string, source: Readable): Promise<StagedInfo> {
    assertStagingKey(key);
    const written = await this.writeTemp(source, undefined, false);
    try {
      await rename(written.file, path.join(this.uploadDir, key));
      await syncDir(this.uploadDir);
      return { key, size: written.size };
    } catch (error) {
      await unlink(written.file).catch(() => undefined);
      throw error;
    }
  }

  async openStaged(key: string): Promise<Readable> {
    assertStagingKey(key);
    const handle = await open(path.join(this.uploadDir, key), 'r').catch((error: unknown) => {
      throw isNotFound(error) ? new BlobNotFoundError(`uploads/${key}`) : error;
    });
    return handle.createReadStream();
  }

  async removeStaged(key: string): Promise<void> {
    assertStagingKey(key);
    await unlink(path.join(this.uploadDir, key)).catch(ignoreNotFound);
  }

  async *listStaged(): AsyncIterable<{ key: string; size: number; modified: Date }> {
    for await (const entry of await this.openDir(this.uploadDir)) {
      if (!entry.isFile()) continue;
      const info = await stat(path.join(this.uploadDir, entry.name)).catch(ignoreNotFound);
      if (info) yield { key: entry.name, size: info.size, modified: info.mtime };
    }
  }

  async presignedGetUrl(): Promise<string | null> {
    return null;
  }

  async ping(): Promise<void> {
    await this.init();
    const probe = path.join(this.tmpDir, `.ping-${randomUUID()}`);
    const handle = await open(probe, 'wx');
    await handle.close();
    await unlink(probe);
  }

  private get blobDir(): string {
    return path.join(this.root, 'blobs', 'sha256');
  }

  private get uploadDir(): string {
    return path.join(this.root, 'uploads');
  }

  private get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }

  private blobFile(digest: string): string {
    return path.join(this.root, blobPath(digest));
  }

  /** Stream into a fresh temp file while hashing; the file is fsynced before this resolves. */
  private async writeTemp(source: Readable, maxBytes?: number, hashing = true): Promise<{ file: string; size: number; digest: () => BlobDigest }> {
    await this.init();
    const file = path.join(this.tmpDir, randomUUID());
    const digester = new Sha256Digester(maxBytes, hashing);
    // flush: fsync before close, so the rename below can never expose a half-written file.
    const sink = createWriteStream(file, { flags: 'wx', flush: true });
    try {
      await pipeline(source, digester, sink);
    } catch (error) {
      // A failure can beat the file's open: wait until the stream has closed, or the file would
      // appear after the unlink and stay behind.
      if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()));
      await unlink(file).catch(() => undefined);
      throw error;
    }
    return { file, digest: () => digester.digest(), size: digester.size };
  }

  private async openDir(dir: string): Promise<AsyncIterable<Dirent> | Iterable<Dirent>> {
    try {
      return await opendir(dir);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function ignoreNotFound(error: unknown): undefined {
  if (isNotFound(error)) return undefined;
  throw error;
}

/** Make a rename durable: the new directory entry must reach the disk too. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
