import { Module, type OnModuleInit } from '@nestjs/common';
import { ImageStoreModule } from '@cargohold/image-store';
import { WorkerHost } from '@cargohold/queue';
import { JobName } from '@cargohold/queue-contracts';
import { ArchiveLoaderService } from './archive-loader.service';

/** Registers the `load.v1` handler on the puller's worker host. */
@Module({
  imports: [ImageStoreModule],
  providers: [ArchiveLoaderService],
})
export class ArchiveLoaderModule implements OnModuleInit {
  constructor(
    private readonly worker: WorkerHost,
    private readonly loader: ArchiveLoaderService,
  ) {}

  onModuleInit(): void {
    this.worker.register(JobName.Load, (data, ctx) => this.loader.load(data, ctx));
  }
}
