import { Module, type OnModuleInit } from '@nestjs/common';
import { WorkerHost } from '@cargohold/queue';
import { JobName } from '@cargohold/queue-contracts';
import { PullService } from './pull.service';
import { PushService } from './push.service';
import { RegistrySyncModule } from './registry-sync.module';
import { VerifyService } from './verify.service';

/** Registers `pull.v1`, `push.v1` and `verify.v1` on the puller's worker host. */
@Module({ imports: [RegistrySyncModule] })
export class RegistrySyncWorkerModule implements OnModuleInit {
  constructor(
    private readonly worker: WorkerHost,
    private readonly pulls: PullService,
    private readonly pushes: PushService,
    private readonly verifier: VerifyService,
  ) {}

  onModuleInit(): void {
    this.worker.register(JobName.Pull, (data, ctx) => this.pulls.pull(data, ctx));
    this.worker.register(JobName.Push, (data, ctx) => this.pushes.push(data, ctx));
    this.worker.register(JobName.Verify, (data, ctx) => this.verifier.verify(data, ctx));
  }
}
