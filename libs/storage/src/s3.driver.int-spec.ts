import { startS3Server } from '@cargohold/testing';
import { Client } from 'minio';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBlobStoreContract } from './blob-store.contract';
import { createBlobStore } from './blob-store.factory';
import { S3BlobStore } from './s3.driver';
import { withS3Retry } from './s3-errors.util';

type S3Server = Awaited<ReturnType<typeof startS3Server>>;

let server: S3Server;
let admin: Client;

beforeAll(async () => {
  server = await startS3Server();
  const url = new URL(server.endpoint);
  admin = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    region: 'us-east-1',
    pathStyle: true,
    retryOptions: { disableRetry: true }, // withS3Retry below retries, without console noise
  });
});

afterAll(async () => {
  await server?.stop();
});

function settingsFor(bucket: string) {
  return {
    endpoint: server.endpoint,
    bucket,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    region: 'us-east-1',
    pathStyle: true,
  };
}

/** Empty and drop a bucket; bulk delete is retried because s3rver sometimes answers it with 500. */
async function dropBucket(bucket: string): Promise<void> {
  const names: string[] = [];
  for await (const item of admin.listObjectsV2(bucket, '', true)) if (item.name) names.push(item.name);
  for (let i = 0; i < names.length; i += 1000) {
    const batch = names.slice(i, i + 1000);
    await withS3Retry(() => admin.removeObjects(bucket, batch));
  }
  await admin.removeBucket(bucket);
}

function uniqueBucket(): string {
  return `blobs-${randomUUID().slice(0, 13)}`;
}

describeBlobStoreContract('s3 (s3rver)', async () => {
  const bucket = uniqueBucket();
  // Through the factory, so bucket creation at startup is exercised every time.
  const store = await createBlobStore({ driver: 's3', ...settingsFor(bucket) });
  return { store, cleanup: () => dropBucket(bucket) };
});

describe('S3BlobStore specifics', () => {
  it('creates its bucket once, even when asked concurrently', async () => {
    const bucket = uniqueBucket();
    const store = new S3BlobStore(settingsFor(bucket));
    await expect(store.ping()).rejects.toThrow(/does not exist/);
    await Promise.all([store.ensureBucket(), store.ensureBucket(), store.ensureBucket()]);
    await store.ensureBucket();
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await admin.bucketExists(bucket)).toBe(true);
    await dropBucket(bucket);
  });

  it('pages through listings (ListObjectsV2 continuation tokens)', async () => {
    const bucket = uniqueBucket();
    const store = new S3BlobStore(settingsFor(bucket), { listPageSize: 2 });
    await store.ensureBucket();
    const put = await Promise.all(Array.from({ length: 5 }, () => store.put(Readable.from([randomBytes(64)]))));
    await Promise.all(['a', 'b', 'c'].map((key) => store.stage(key, Readable.from([Buffer.from(key)]))));
    const listed: string[] = [];
    for await (const blob of store.list()) listed.push(blob.digest);
    expect(listed.sort()).toEqual(put.map((b) => b.digest).sort());
    const staged: string[] = [];
    for await (const entry of store.listStaged()) staged.push(entry.key);
    expect(staged.sort()).toEqual(['a', 'b', 'c']);
    await dropBucket(bucket);
  });

  it('stores objects under blobs/sha256/<hex> and uploads/<key>', async () => {
    const bucket = uniqueBucket();
    const store = new S3BlobStore(settingsFor(bucket));
    await store.ensureBucket();
    const { digest } = await store.put(Readable.from([Buffer.from('layout')]));
    await store.stage('ctx', Readable.from([Buffer.from('tar')]));
    const names: string[] = [];
    for await (const item of admin.listObjectsV2(bucket, '', true)) if (item.name) names.push(item.name);
    expect(names.sort()).toEqual([`blobs/sha256/${digest.slice('sha256:'.length)}`, 'uploads/ctx']);
    await dropBucket(bucket);
  });

  it('refuses part sizes S3 would reject and endpoints with a path', () => {
    expect(() => new S3BlobStore(settingsFor('x-bucket'), { partSize: 1024 })).toThrow(/part size/);
    expect(() => new S3BlobStore({ ...settingsFor('x-bucket'), endpoint: `${server.endpoint}/prefix` })).toThrow(/path/);
  });

  it('reports an unreachable server on ping', async () => {
    const store = new S3BlobStore({ ...settingsFor('x-bucket'), endpoint: 'http://127.0.0.1:1' });
    await expect(store.ping()).rejects.toThrow();
  });
});
