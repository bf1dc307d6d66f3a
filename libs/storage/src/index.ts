export * from './blob-store';
export * from './blob-store.errors';
export { assertStagingKey, blobPath, digestHex } from './blob-key.util';
export { createBlobStore } from './blob-store.factory';
export { FilesystemBlobStore } from './filesystem.driver';
export { S3_MAX_COPY_SIZE, S3_PART_SIZE, S3BlobStore } from './s3.driver';
export type { S3BlobStoreOptions } from './s3.driver';
export { Sha256Digester } from './sha256-digester.util';
