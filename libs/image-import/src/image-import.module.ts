import { Module, type OnModuleInit } from '@nestjs/common';
import { ImageStoreModule } from '@cargohold/image-store';
import { WorkerHost } from '@cargohold/queue';
import { JobName } from '@cargohold/queue-contracts';
import { ImageImportService } from './image-import.service';

/**
 * `docker import` on the puller: registers `import.v1` on the worker host.
 * Needs BLOB_STORE and APP_CONFIG in scope, as the archive loader does.
 */
@Module({
  imports: [ImageStoreModule],
  providers: [ImageImportService],
  exports: [ImageImportService],
})
export class ImageImportModule implements OnModuleInit {
  constructor(
    private readonly worker: WorkerHost,
    private readonly importer: ImageImportService,
  ) {}

  onModuleInit(): void {
    this.worker.register(JobName.Import, (data, ctx) => this.importer.import(data, ctx));
  }
}
