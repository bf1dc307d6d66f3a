import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { familiarName, isValidTag } from '@cargohold/oci';
import { ImageCatalogService } from './image-catalog.service';
import { ImageReferencesRepository } from './image-references.repository';
import { parseRef } from './image-ref.util';
import { invalid } from './image-store.errors';

/** `docker image tag`: point `repo:tag` at an image (moving it from another image if needed). */
@Injectable()
export class ImageTaggingService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly catalog: ImageCatalogService,
    private readonly refs: ImageReferencesRepository,
  ) {}

  async tag(source: string, repo: string, tag: string | undefined): Promise<void> {
    const target = parseTarget(repo, tag);
    await this.dataSource.transaction(async (em) => {
      const img = await this.catalog.resolve(source, em);
      await this.refs.setTag(target.name, target.tag, img.id, img.manifestDigest, em);
      await this.refs.bumpVersion(em);
    });
  }
}

/** The `repo` and `tag` query parameters as dockerd validates them. */
export function parseTarget(repo: string, tag: string | undefined): { name: string; tag: string } {
  if (!repo) throw invalid('repository name must have at least one component');
  const ref = parseRef(repo);
  if (ref.digest) throw invalid('refusing to create a tag with a digest reference');
  if (familiarName(ref.name) === 'sha256') throw invalid('refusing to create an ambiguous tag using digest algorithm as name');
  const finalTag = tag || ref.tag || 'latest';
  if (!isValidTag(finalTag)) throw invalid(`invalid tag format`);
  return { name: ref.name, tag: finalTag };
}
