import { Module } from '@nestjs/common';
import { AuthModule } from '@cargohold/auth';
import { ImageStoreModule } from '@cargohold/image-store';
import { BlobUploadsService } from './blob-uploads.service';
import { ManifestsService } from './manifests.service';
import { RegistryAccess } from './registry-access.service';
import { RegistryController } from './registry.controller';
import { RegistryRepository } from './registry.repository';

/** The OCI Distribution API (`/v2/`). Needs a DataSource, BLOB_STORE and APP_CONFIG in scope. */
@Module({
  imports: [ImageStoreModule, AuthModule],
  controllers: [RegistryController],
  providers: [RegistryRepository, ManifestsService, BlobUploadsService, RegistryAccess],
})
export class RegistryApiModule {}
