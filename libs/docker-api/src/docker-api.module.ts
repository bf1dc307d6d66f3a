import { Module } from '@nestjs/common';
import { ImageStoreModule } from '@cargohold/image-store';
import { ImagesController } from './images.controller';
import { SystemController } from './system.controller';

/**
 * Docker Engine API routes (unversioned; the gateway strips `/vX.Y`). Needs the platform's
 * config, DataSource, BLOB_STORE and JobProducer providers in scope.
 */
@Module({
  imports: [ImageStoreModule],
  controllers: [SystemController, ImagesController],
})
export class DockerApiModule {}
