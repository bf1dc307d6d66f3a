import { Module } from '@nestjs/common';
import { ContainersService } from './containers.service';
import { ImageCatalogService } from './image-catalog.service';
import { ImageCommitService } from './image-commit.service';
import { ImageExportService } from './image-export.service';
import { ImageReferencesRepository } from './image-references.repository';
import { ImageRemovalService } from './image-removal.service';
import { ImageTaggingService } from './image-tagging.service';

/** The image store's services. Needs a TypeORM DataSource provider in scope (DatabaseModule). */
@Module({
  providers: [ImageReferencesRepository, ImageCatalogService, ImageCommitService, ImageExportService, ImageRemovalService, ImageTaggingService, ContainersService],
  exports: [ImageReferencesRepository, ImageCatalogService, ImageCommitService, ImageExportService, ImageRemovalService, ImageTaggingService, ContainersService],
})
export class ImageStoreModule {}
