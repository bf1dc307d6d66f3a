import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { isSha256Digest } from '@cargohold/oci';
import { BLOB_STORE, type BlobDigest, type BlobStore, DigestMismatchError, SizeMismatchError } from '@cargohold/storage';
import { RegistryApiError, digestInvalid, uploadUnknown } from './registry-errors';
import { RegistryRepository, type UploadSession } from './registry.repository';

/** `Content-Range` of a PATCH: `<start>-<end>` (inclusive), as the distribution spec writes it. */
export function parseUploadRange(header: string | undefined): { start: number; end: number } | null {
  if (!header) return null;
  const match = /^(?:bytes[= ])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) throw new RegistryApiError('BLOB_UPLOAD_INVALID', 'invalid Content-Range', { contentRange: header });
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) throw new RegistryApiError('BLOB_UPLOAD_INVALID', 'invalid Content-Range', { contentRange: header });
  return { start, end };
}

export function rangeNotSatisfiable(session: UploadSession, detail: string): RegistryApiError {
  return new RegistryApiError('BLOB_UPLOAD_INVALID', `requested range not satisfiable: ${detail}`, { uuid: session.id, size: session.size }, 416);
}

export function requireDigest(digest: string | undefined): BlobDigest {
  if (!digest) throw digestInvalid('digest missing: the final PUT of an upload needs ?digest=');
  if (!isSha256Digest(digest)) throw new RegistryApiError('DIGEST_INVALID', 'provided digest did not match uploaded content', { digest, reason: 'only sha256 digests are supported' });
  return digest;
}

/**
 * Blob uploads (distribution-spec "push"): monolithic, POST-then-PUT and chunked. Chunks are
 * staged in the blob store as they arrive, never held in memory; the closing PUT streams the
 * staged parts, in order, into the content-addressed store, which verifies the digest before
 * anything becomes visible. Only then is the blob linked into the repository.
 */
@Injectable()
export class BlobUploadsService {
  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly registry: RegistryRepository,
  ) {}

  async start(repositoryId: number): Promise<UploadSession> {
    return this.registry.createUpload(randomUUID(), repositoryId);
  }

  async session(uuid: string, repositoryId: number): Promise<UploadSession> {
    const session = await this.registry.upload(uuid, repositoryId);
    if (!session) throw uploadUnknown(uuid);
    return session;
  }

  /** Stores a whole blob sent in one request, verified against `digest`, and links it. */
  async putMonolithic(repository: string, digest: BlobDigest, body: Readable, size?: number): Promise<void> {
    await this.store(repository, digest, body, size);
  }

  /** Appends a chunk. `range` (from Content-Range) must start where the upload stands. */
  async append(session: UploadSession, body: Readable, range: { start: number; end: number } | null): Promise<UploadSession> {
    if (range && range.start !== session.size) {
      body.resume();
      throw rangeNotSatisfiable(session, `the upload is at byte ${session.size}, the chunk starts at ${range.start}`);
    }
    const key = `upload-${session.id}-${randomBytes(6).toString('hex')}`;
    const staged = await this.blobs.stage(key, body);
    if (range && staged.size !== range.end - range.start + 1) {
      await this.blobs.removeStaged(key);
      throw rangeNotSatisfiable(session, `Content-Range announces ${range.end - range.start + 1} bytes, the body had ${staged.size}`);
    }
    if (staged.size === 0) {
      await this.blobs.removeStaged(key);
      return session;
    }
    const next = await this.registry.appendPart(session, { key, size: staged.size });
    if (!next) {
      await this.blobs.removeStaged(key);
      const current = await this.session(session.id, session.repositoryId);
      throw rangeNotSatisfiable(current, 'another chunk was appended concurrently');
    }
    return next;
  }

  /** The closing PUT: the final chunk (possibly empty), then the whole blob verified and linked. */
  async complete(repository: string, session: UploadSession, digest: BlobDigest, finalChunk: Readable | null): Promise<void> {
    const current = finalChunk ? await this.append(session, finalChunk, null) : session;
    const parts = current.parts;
    try {
      if (parts.length === 0) await this.store(repository, digest, Readable.from([]), 0);
      else await this.store(repository, digest, Readable.from(this.concat(parts.map((p) => p.key))), current.size);
    } finally {
      // A failed verification ends the session too: the client starts over, as with distribution.
      await this.discard(current);
    }
  }

  async cancel(session: UploadSession): Promise<void> {
    await this.discard(session);
  }

  private async discard(session: UploadSession): Promise<void> {
    await this.registry.deleteUpload(session.id);
    for (const part of session.parts) await this.blobs.removeStaged(part.key);
  }

  private async *concat(keys: string[]): AsyncGenerator<Buffer> {
    for (const key of keys) {
      for await (const chunk of await this.blobs.openStaged(key)) yield chunk as Buffer;
    }
  }

  private async store(repository: string, digest: BlobDigest, body: Readable, size?: number): Promise<void> {
    try {
      const info = await this.blobs.put(body, { digest, size });
      await this.registry.linkBlob(repository, info.digest, info.size);
    } catch (error) {
      if (error instanceof DigestMismatchError) throw digestInvalid('provided digest did not match uploaded content', { digest, actual: error.actual });
      if (error instanceof SizeMismatchError) throw new RegistryApiError('SIZE_INVALID', 'provided length did not match content length', { expected: error.expected, actual: error.actual });
      throw error;
    }
  }
}
