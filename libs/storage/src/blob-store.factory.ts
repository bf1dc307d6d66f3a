import type { AppConfig } from '@cargohold/config';
import type { BlobStore } from './blob-store';
import { FilesystemBlobStore } from './filesystem.driver';
import { S3BlobStore } from './s3.driver';

/** Build the configured blob store and prepare it (directories / bucket), ready for use. */
export async function createBlobStore(settings: AppConfig['blobs']): Promise<BlobStore> {
  switch (settings.driver) {
    case 'filesystem': {
      const store = new FilesystemBlobStore(settings.root);
      await store.init();
      return store;
    }
    case 's3': {
      const store = new S3BlobStore(settings);
      await store.ensureBucket();
      return store;
    }
  }
}
