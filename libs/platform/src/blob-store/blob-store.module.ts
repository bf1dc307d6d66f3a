import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '@cargohold/config';
import type { AppConfig } from '@cargohold/config';
import { BLOB_STORE, createBlobStore } from '@cargohold/storage';

/** The configured BlobStore under BLOB_STORE, prepared (directories / bucket) at boot. */
@Global()
@Module({
  providers: [{ provide: BLOB_STORE, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createBlobStore(config.blobs) }],
  exports: [BLOB_STORE],
})
export class BlobStoreModule {}
