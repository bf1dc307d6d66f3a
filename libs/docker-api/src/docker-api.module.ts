import { Module } from '@nestjs/common';
import { ImageStoreModule } from '@cargohold/image-store';
import { AuthController } from './auth.controller';
import { ImagesController } from './images.controller';
import { JobStreamService } from './job-stream.service';
import { SystemController } from './system.controller';

/**
 * Docker Engine API routes (unversioned; the gateway strips `/vX.Y`). Needs the platform's
 * config, DataSource, BLOB_STORE and JobProducer providers in scope.
 */
@Module({
  imports: [ImageStoreModule],
  controllers: [SystemController, ImagesController, AuthController],
  providers: [JobStreamService],
})
export class DockerApiModule {}
