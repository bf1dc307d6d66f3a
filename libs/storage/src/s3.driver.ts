import type { S3Settings } from '@cargohold/config';
import { Client, CopyDestinationOptions, CopySourceOptions } from 'minio';
import { createHash, randomUUID } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { assertExpectation, assertRange, assertStagingKey, blobPath, verifyExpectation } from './blob-key.util';
import type { BlobDigest, BlobExpectation, BlobInfo, BlobListing, BlobStore, ByteRange, StagedInfo } from './blob-store';
import { BlobNotFoundError } from './blob-store';
import { RangeNotSatisfiableError } from './blob-store.errors';
import { fixedSizeParts } from './fixed-size-parts.util';
import { isS3NotFound, s3ErrorCode, withS3Retry } from './s3-errors.util';
import { Sha256Digester } from './sha256-digester.util';

/** Default multipart part size; bodies shorter than one part go up in a single PUT. */
export const S3_PART_SIZE = 16 * 1024 ** 2;
const MIN_PART_SIZE = 5 * 1024 ** 2; // S3's minimum for every part but the last
const MAX_PARTS = 10_000; // S3's limit per multipart upload
/** Largest object a single CopyObject may copy (S3's limit). */
export const S3_MAX_COPY_SIZE = 5 * 1024 ** 3;

const BLOB_PREFIX = 'blobs/sha256/';
const UPLOAD_PREFIX = 'uploads/';
const BLOB_KEY = /^blobs\/sha256\/([0-9a-f]{64})$/;

export interface S3BlobStoreOptions {
  /** Multipart part size in bytes (at least 5 MiB). Default 16 MiB. */
  partSize?: number;
  /** Keys per ListObjectsV2 page (1-1000). Default 1000. */
  listPageSize?: number;
}

interface UploadPlan {
  /** Object key, when known before the bytes are read. */
  key?: string;
  /** Fail as soon as more bytes than this arrive. */
  maxBytes?: number;
  /** Runs once the last byte is hashed, before anything becomes visible; throw to discard. */
  verify(info: BlobInfo): void;
}

/**
 * Blob store on one S3 bucket (MinIO, AWS, s3rver): `blobs/sha256/<hex>` and `uploads/<key>`.
 *
 * Writes stream through a hash into the driver's own multipart upload (at most two parts in
 * memory), because servers without ListMultipartUploads (s3rver) break the client's putObject
 * for streams of unknown length. An upload is completed only after its digest and size are
 * verified, and aborted otherwise, so a bad body never becomes visible.
 *
 * Limits: 10,000 parts per object (160 GiB at the default part size, more when the expected
 * size is given). A put WITHOUT an expected digest of more than one part is uploaded to
 * `uploads/tmp-<uuid>` and then copied server-side to its digest key; CopyObject stops at
 * 5 GiB, so such puts must pass the digest (a multipart copy would lift this, but s3rver
 * lacks UploadPartCopy). Temp objects left by a crash show up in listStaged() for expiry.
 */
export class S3BlobStore implements BlobStore {
  readonly driver = 's3' as const;
  readonly bucket: string;
  private readonly client: Client;
  private readonly region: string;
  private readonly partSize: number;
  private readonly listPageSize: number;

  constructor(settings: S3Settings, options: S3BlobStoreOptions = {}) {
    const url = new URL(settings.endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`S3 endpoint ${settings.endpoint} must be an http:// or https:// URL`);
    }
    if (url.pathname !== '/' || url.search) {
      throw new Error(`S3 endpoint ${settings.endpoint} must not have a path or query: give scheme, host and port only`);
    }
    const useSSL = url.protocol === 'https:';
    this.client = new Client({
      endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
      pathStyle: settings.pathStyle,
      // The client's own retry writes to the console and would also repeat non-idempotent
      // calls (complete multipart); withS3Retry repeats the idempotent ones instead.
      retryOptions: { disableRetry: true },
    });
    this.bucket = settings.bucket;
    this.region = settings.region;
    this.partSize = options.partSize ?? S3_PART_SIZE;
    this.listPageSize = options.listPageSize ?? 1000;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new RangeError(`S3 part size must be an integer of at least ${MIN_PART_SIZE} bytes, got ${this.partSize}`);
    }
    if (!Number.isSafeInteger(this.listPageSize) || this.listPageSize < 1 || this.listPageSize > 1000) {
      throw new RangeError(`S3 list page size must be 1-1000, got ${this.listPageSize}`);
    }
  }

  /** Create the bucket unless it exists; safe when several processes start at once. */
  async ensureBucket(): Promise<void> {
    if (await withS3Retry(() => this.client.bucketExists(this.bucket))) return;
    try {
      await this.client.makeBucket(this.bucket, this.region);
    } catch (error) {
      const code = s3ErrorCode(error);
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
      if (!(await this.client.bucketExists(this.bucket))) {
        throw new Error(`S3 bucket "${this.bucket}" exists but belongs to another account: choose another CARGOHOLD_S3_BUCKET`, {
          cause: error,
        });
      }
    }
  }

  async stat(digest: BlobDigest): Promise<BlobInfo | null> {
    const key = blobPath(digest);
    try {
      const info = await withS3Retry(() => this.client.statObject(this.bucket, key));
      return { digest, size: info.size };
    } catch (error) {
      if (isS3NotFound(error)) return null;
      throw error;
    }
  }

  async get(digest: BlobDigest, range?: ByteRange): Promise<Readable> {
    const key = blobPath(digest);
    if (range) assertRange(digest, range);
    try {
      if (!range || (range.start === 0 && range.end === undefined)) {
        return await withS3Retry(() => this.client.getObject(this.bucket, key));
      }
      // The client reads length 0 as "to the end".
      const length = range.end === undefined ? 0 : range.end - range.start + 1;
      const body = await withS3Retry(() => this.client.getPartialObject(this.bucket, key, range.start, length));
      // Never hand out more than was asked for: s3rver answers bytes=0-0 with the whole object.
      return length === 0 ? body : Readable.from(firstBytes(body, length));
    } catch (error) {
      if (isS3NotFound(error)) throw new BlobNotFoundError(digest);
      if (range && s3ErrorCode(error) === 'InvalidRange') {
        throw new RangeNotSatisfiableError(digest, range, (await this.stat(digest))?.size);
      }
      throw error;
    }
  }

  async put(source: Readable, expect?: BlobExpectation): Promise<BlobInfo> {
    assertExpectation(expect);
    // With the digest known up front the upload goes straight to its final key: S3 shows
    // nothing there until complete, and complete is only sent after verification.
    const { info, key } = await this.upload(
      source,
      { key: expect?.digest && blobPath(expect.digest), maxBytes: expect?.size, verify: (actual) => verifyExpectation(expect, actual) },
      expect?.size,
    );
    const finalKey = blobPath(info.digest);
    if (key !== finalKey) await this.commitTemp(key, finalKey, info);
    return info;
  }

  async delete(digest: BlobDigest): Promise<void> {
    const key = blobPath(digest);
    await withS3Retry(() => this.client.removeObject(this.bucket, key));
  }

  async *list(): AsyncIterable<BlobListing> {
    for await (const item of this.listPrefix(BLOB_PREFIX)) {
      const match = BLOB_KEY.exec(item.name);
      if (match) yield { digest: `sha256:${match[1]}`, size: item.size, modified: item.lastModified };
    }
  }

  async stage(key: string, source: Readable): Promise<StagedInfo> {
    assertStagingKey(key);
    const { info } = await this.upload(source, { key: UPLOAD_PREFIX + key, verify: () => undefined });
    return { key, size: info.size };
  }

  async openStaged(key: string): Promise<Readable> {
    assertStagingKey(key);
    try {
      return await withS3Retry(() => this.client.getObject(this.bucket, UPLOAD_PREFIX + key));
    } catch (error) {
      throw isS3NotFound(error) ? new BlobNotFoundError(UPLOAD_PREFIX + key) : error;
    }
  }

  async removeStaged(key: string): Promise<void> {
    assertStagingKey(key);
    await withS3Retry(() => this.client.removeObject(this.bucket, UPLOAD_PREFIX + key));
  }

  async *listStaged(): AsyncIterable<{ key: string; size: number; modified: Date }> {
    for await (const item of this.listPrefix(UPLOAD_PREFIX)) {
      const key = item.name.slice(UPLOAD_PREFIX.length);
      if (key && !key.includes('/')) yield { key, size: item.size, modified: item.lastModified };
    }
  }

  async presignedGetUrl(digest: BlobDigest, expirySeconds: number): Promise<string | null> {
    return this.client.presignedGetObject(this.bucket, blobPath(digest), expirySeconds);
  }

  async ping(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) {
      throw new Error(`S3 bucket "${this.bucket}" does not exist (it is created at startup by ensureBucket())`);
    }
  }

  /**
   * Hash `source` while sending it. A body shorter than one part is sent with a single PUT once
   * verified; a longer one as a multipart upload to `plan.key` (or a temp key when unknown),
   * completed only after verification and aborted on any failure.
   */
  private async upload(source: Readable, plan: UploadPlan, expectedSize?: number): Promise<{ info: BlobInfo; key: string }> {
    const partSize = this.partSizeFor(expectedSize);
    const digester = new Sha256Digester(plan.maxBytes);
    // Errors surface through the iteration below; the callback only keeps pipeline quiet.
    pipeline(source, digester, () => undefined);
    const parts = fixedSizeParts(digester, partSize);
    try {
      const first = await parts.next();
      const second = first.done ? first : await parts.next();
      if (second.done) {
        const body = first.done ? Buffer.alloc(0) : first.value;
        const info = { digest: digester.digest(), size: digester.size };
        plan.verify(info);
        const key = plan.key ?? blobPath(info.digest);
        await withS3Retry(() => this.client.putObject(this.bucket, key, body, body.length));
        return { info, key };
      }
      return await this.uploadMultipart(prepend([first.value, second.value], parts), digester, plan, partSize);
    } catch (error) {
      digester.destroy(); // stops reading: pipeline() then destroys the source too
      throw error;
    }
  }

  private async uploadMultipart(
    parts: AsyncIterable<Buffer>,
    digester: Sha256Digester,
    plan: UploadPlan,
    partSize: number,
  ): Promise<{ info: BlobInfo; key: string }> {
    const key = plan.key ?? `${UPLOAD_PREFIX}tmp-${randomUUID()}`;
    const uploadId = await withS3Retry(() => this.client.initiateNewMultipartUpload(this.bucket, key, {}));
    const etags: { part: number; etag: string }[] = [];
    let inFlight: Promise<void> | undefined;
    try {
      let partNumber = 0;
      for await (const body of parts) {
        // Send part N while part N+1 is being read: two parts in memory at most.
        if (inFlight) await inFlight;
        const part = ++partNumber;
        if (part > MAX_PARTS) {
          throw new Error(`blob exceeds ${MAX_PARTS} parts of ${partSize} bytes: pass its expected size so larger parts are used`);
        }
        inFlight = this.uploadPart(key, uploadId, part, body).then((etag) => {
          etags.push({ part, etag });
        });
        inFlight.catch(() => undefined); // awaited above or below; this only avoids an unhandled-rejection report meanwhile
      }
      await inFlight;
      const info = { digest: digester.digest(), size: digester.size };
      plan.verify(info);
      await this.client.completeMultipartUpload(this.bucket, key, uploadId, etags);
      return { info, key };
    } catch (error) {
      await inFlight?.catch(() => undefined);
      await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => undefined);
      throw error;
    }
  }

  private async uploadPart(key: string, uploadID: string, partNumber: number, body: Buffer): Promise<string> {
    const headers = { 'Content-Length': body.length, 'Content-MD5': createHash('md5').update(body).digest('base64') };
    const result = await withS3Retry(() =>
      this.client.uploadPart({ bucketName: this.bucket, objectName: key, uploadID, partNumber, headers }, body),
    );
    return result.etag;
  }

  /** Move a verified temp upload to its digest key (server-side copy), then drop the temp. */
  private async commitTemp(tempKey: string, finalKey: string, info: BlobInfo): Promise<void> {
    try {
      if (info.size > S3_MAX_COPY_SIZE) {
        throw new Error(
          `blob ${info.digest} is ${info.size} bytes, over the ${S3_MAX_COPY_SIZE}-byte limit of an S3 server-side copy: ` +
            'pass its digest to put() so it is uploaded to its final key directly',
        );
      }
      await withS3Retry(() =>
        this.client.copyObject(
          new CopySourceOptions({ Bucket: this.bucket, Object: tempKey }),
          new CopyDestinationOptions({ Bucket: this.bucket, Object: finalKey }),
        ),
      );
    } finally {
      // The blob is committed (or the put failed anyway); a temp we cannot remove now is
      // listed by listStaged() and expires like any abandoned upload.
      await withS3Retry(() => this.client.removeObject(this.bucket, tempKey)).catch(() => undefined);
    }
  }

  /** Grow parts when a large expected size would otherwise need more than MAX_PARTS. */
  private partSizeFor(expectedSize: number | undefined): number {
    if (expectedSize === undefined) return this.partSize;
    return Math.max(this.partSize, Math.ceil(expectedSize / MAX_PARTS));
  }

  /** Every object under `prefix`, one ListObjectsV2 page at a time. */
  private async *listPrefix(prefix: string): AsyncIterable<{ name: string; size: number; lastModified: Date }> {
    let token = '';
    do {
      const page = await withS3Retry(() => this.client.listObjectsV2Query(this.bucket, prefix, token, '', this.listPageSize, ''));
      for (const item of page.objects) {
        if (item.name !== undefined) yield { name: item.name, size: item.size, lastModified: item.lastModified };
      }
      token = page.isTruncated ? page.nextContinuationToken : '';
    } while (token);
  }
}

async function* prepend<T>(head: T[], rest: AsyncIterator<T>): AsyncGenerator<T> {
  yield* head;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** The first `limit` bytes of `source`; stops reading (and closes `source`) once they are out. */
async function* firstBytes(source: Readable, limit: number): AsyncGenerator<Buffer> {
  let left = limit;
  for await (const chunk of source) {
    const buffer = chunk as Buffer;
    if (buffer.length >= left) {
      yield buffer.subarray(0, left);
      return;
    }
    left -= buffer.length;
    yield buffer;
  }
}
