import { Module, type OnModuleInit } from '@nestjs/common';
import { ImageStoreModule } from '@cargohold/image-store';
import { WorkerHost } from '@cargohold/queue';
import { JobName } from '@cargohold/queue-contracts';
import { BaseImagesService } from './base-images.service';
import { BuildCacheRepository } from './build-cache.repository';
import { BuildImagesService } from './build-images.service';
import { BuildWorkspaces } from './build-workspace';
import { BuildService } from './build.service';

/** Registers `build.v1` on the builder's worker host. Needs a DataSource, BLOB_STORE, APP_CONFIG and the queue module. */
@Module({
  imports: [ImageStoreModule],
  providers: [BuildService, BuildImagesService, BaseImagesService, BuildCacheRepository, BuildWorkspaces],
})
export class ImageBuildModule implements OnModuleInit {
  constructor(
    private readonly worker: WorkerHost,
    private readonly builds: BuildService,
  ) {}

  onModuleInit(): void {
    this.worker.register(JobName.Build, (data, ctx) => this.builds.build(data, ctx));
  }
}
