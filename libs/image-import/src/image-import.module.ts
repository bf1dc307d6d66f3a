import { Module } from '@nestjs/common';
import { ImageStoreModule } from '@cargohold/image-store';
import { ImageImportService } from './image-import.service';

/**
 * Provides the import job's service. Not registered on a WorkerHost yet: the job name is not in
 * the contracts; the puller wires `import.v1` to `ImageImportService.import`.
 * Needs BLOB_STORE and APP_CONFIG in scope, as the archive loader does.
 */
@Module({
  imports: [ImageStoreModule],
  providers: [ImageImportService],
  exports: [ImageImportService],
})
export class ImageImportModule {}
