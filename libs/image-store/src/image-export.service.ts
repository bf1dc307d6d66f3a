import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ImageLayerEntity, ManifestEntity } from '@cargohold/db';
import { ImageCatalogService } from './image-catalog.service';
import { ImageReferencesRepository } from './image-references.repository';
import { familiarTag, parseImageLookup } from './image-ref.util';

/** What `docker save` writes for one image. */
export interface ExportImage {
  id: string;
  config: { digest: string; size: number };
  /** `bytes`: the manifest as stored in the database (the registry API keeps manifests there, not as blobs). */
  manifest: { digest: string; mediaType: string; size: number; bytes: Buffer };
  layers: Array<{ digest: string; size: number; mediaType: string }>;
  repoTags: string[];
}

/**
 * Resolves `docker save` arguments as dockerd does: a name with a tag saves that tag; a bare
 * repository name saves every tag of that repository; an ID saves the image with all its tags
 * only when named by ID (dockerd then writes no RepoTags for it).
 */
@Injectable()
export class ImageExportService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly catalog: ImageCatalogService,
    private readonly refs: ImageReferencesRepository,
  ) {}

  async plan(names: readonly string[]): Promise<ExportImage[]> {
    const byId = new Map<string, ExportImage>();
    for (const name of names) {
      const lookup = parseImageLookup(name);
      const bareRepo = lookup.kind === 'reference' && !/[:@]/.test(name.slice(name.lastIndexOf('/') + 1));
      if (bareRepo && lookup.kind === 'reference') {
        // Every tag of the repository, as `docker save busybox` does.
        const repoTags = [...(await this.refs.allReferences()).entries()].flatMap(([id, refs]) =>
          refs.filter((r) => r.kind === 'tag' && r.repository === lookup.ref.name).map((r) => ({ id, tag: r.kind === 'tag' ? familiarTag(r.repository, r.tag) : '' })),
        );
        if (repoTags.length) {
          for (const { id, tag } of repoTags) (await this.entry(byId, id)).repoTags.push(tag);
          continue;
        }
      }
      const img = await this.catalog.resolve(name);
      const entry = await this.entry(byId, img.id);
      if (lookup.kind === 'reference' && !lookup.ref.digest && lookup.idPrefix === null) {
        entry.repoTags.push(familiarTag(lookup.ref.name, lookup.ref.tag ?? 'latest'));
      }
    }
    for (const e of byId.values()) e.repoTags = [...new Set(e.repoTags)].sort();
    return [...byId.values()];
  }

  private async entry(byId: Map<string, ExportImage>, id: string): Promise<ExportImage> {
    const existing = byId.get(id);
    if (existing) return existing;
    const [img] = await this.refs.imagesById([id]);
    const manifest = await this.dataSource.manager.findOneByOrFail(ManifestEntity, { digest: img.manifestDigest });
    const layers = await this.dataSource.getRepository(ImageLayerEntity).find({ where: { imageId: id }, order: { position: 'ASC' } });
    const entry: ExportImage = {
      id,
      config: { digest: id, size: Buffer.byteLength(img.config, 'utf8') },
      manifest: { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size, bytes: Buffer.from(manifest.content, 'utf8') },
      layers: layers.map((l) => ({ digest: l.blobDigest, size: l.blobSize, mediaType: l.mediaType })),
      repoTags: [],
    };
    byId.set(id, entry);
    return entry;
  }
}
