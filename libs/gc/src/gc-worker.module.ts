import { Module, type OnModuleInit } from '@nestjs/common';
import { ImageStoreModule } from '@cargohold/image-store';
import { WorkerHost } from '@cargohold/queue';
import { JobName } from '@cargohold/queue-contracts';
import { PruneService } from './prune.service';
import { SweepService } from './sweep.service';

/** Registers `prune.v1` and `sweep.v1` on the gc worker host; exports both services (schedules use them). */
@Module({
  imports: [ImageStoreModule],
  providers: [PruneService, SweepService],
  exports: [PruneService, SweepService],
})
export class GcWorkerModule implements OnModuleInit {
  constructor(
    private readonly worker: WorkerHost,
    private readonly prunes: PruneService,
    private readonly sweeps: SweepService,
  ) {}

  onModuleInit(): void {
    this.worker.register(JobName.Prune, (data) => this.prunes.prune(data));
    this.worker.register(JobName.Sweep, (data, ctx) => this.sweeps.sweep(data, ctx.signal));
  }
}
