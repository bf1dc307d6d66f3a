import { Module, UseGuards } from '@nestjs/common';
import { AuthModule } from '@cargohold/auth';
import { ImageStoreModule } from '@cargohold/image-store';
import { AuthController } from './auth.controller';
import { BodyStagingService } from './body-staging.service';
import { BuildContextStagingService } from './build-context-staging.service';
import { BuildController } from './build.controller';
import { ContainersController } from './containers.controller';
import { DockerAuthGuard } from './docker-auth.guard';
import { ImagesController } from './images.controller';
import { JobStreamService } from './job-stream.service';
import { PruneController } from './prune.controller';
import { SystemController } from './system.controller';

const controllers = [SystemController, ImagesController, BuildController, PruneController, AuthController, ContainersController];

// Every Docker API route passes the token check (a no-op while CARGOHOLD_AUTH=off). Applied
// here, once for the whole list, so a controller added to it cannot miss it; a global guard
// would also catch the registry and native APIs, which authenticate their own way.
for (const controller of controllers) UseGuards(DockerAuthGuard)(controller);

/**
 * Docker Engine API routes (unversioned; the gateway strips `/vX.Y`). Needs the platform's
 * config, DataSource, BLOB_STORE and JobProducer providers in scope.
 */
@Module({
  imports: [ImageStoreModule, AuthModule],
  controllers,
  providers: [JobStreamService, BodyStagingService, BuildContextStagingService, DockerAuthGuard],
})
export class DockerApiModule {}
