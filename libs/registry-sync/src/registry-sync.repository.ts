import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ImageEntity, ImageLayerEntity, ManifestEntity, RepoDigestEntity, RepositoryEntity, TagEntity } from '@cargohold/db';
import { ImageReferencesRepository, imageSize, insertManifest } from '@cargohold/image-store';
import { type ImageIndex, parseManifest } from '@cargohold/oci';

export interface StoredManifest {
  mediaType: string;
  /** The manifest bytes exactly as stored (their sha256 is the digest). */
  bytes: Buffer;
}

export interface KnownLayer {
  diffId: string;
  contentSize: number;
}

/** A layer claim of an image not yet checked against its blob: what its row says the blob holds. */
export interface UnverifiedLayer {
  blobDigest: string;
  diffId: string;
}

export interface PulledIndex {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  parsed: ImageIndex;
}

/** What a pull has to make true once its image exists (see recordPull). */
export interface PullReferences {
  /** Normalised repository name (`127.0.0.1:5000/busybox`). */
  repository: string;
  imageId: string;
  /** The image manifest the image was pulled with. */
  manifestDigest: string;
  /** Pulled by tag: point it at the image. */
  tag?: string;
  /** `repository@repoDigest`: the digest the user pulled by (the index's, for an index). */
  repoDigest: string;
  /** The index the image was chosen from, kept so it can be served again. */
  index?: PulledIndex;
}

export interface PushableImage {
  manifest: { digest: string; mediaType: string; bytes: Buffer };
  config: { digest: string; size: number };
  /** Bottom first, as in the manifest, with the diff ID of each. */
  layers: Array<{ digest: string; size: number; mediaType: string; diffId: string }>;
}

/** The database side of pull and push: manifests, known layers and repository references. */
@Injectable()
export class RegistrySyncRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly refs: ImageReferencesRepository,
  ) {}

  async findManifest(digest: string): Promise<StoredManifest | null> {
    const row = await this.dataSource.manager.findOne(ManifestEntity, { where: { digest }, select: ['mediaType', 'content'] });
    return row ? { mediaType: row.mediaType, bytes: Buffer.from(row.content, 'utf8') } : null;
  }

  imageExists(id: string): Promise<boolean> {
    return this.dataSource.manager.existsBy(ImageEntity, { id });
  }

  /**
   * Diff ID and content size of blobs some committed image uses as a layer, read from the blob
   * by whoever committed it. Unverified rows (registry pushes: the pushed config's claims) are
   * left out, so one lying push cannot make an honest image sharing the blob fail or lie.
   */
  async knownLayers(digests: readonly string[]): Promise<Map<string, KnownLayer>> {
    const known = new Map<string, KnownLayer>();
    for (let i = 0; i < digests.length; i += 500) {
      const chunk = digests.slice(i, i + 500);
      const rows = await this.dataSource.manager
        .createQueryBuilder(ImageLayerEntity, 'l')
        .select(['l.blob_digest AS blob_digest', 'l.diff_id AS diff_id', 'l.content_size AS content_size'])
        .where('l.blob_digest IN (:...chunk)', { chunk })
        .andWhere('l.verified = :verified', { verified: true })
        .getRawMany<{ blob_digest: string; diff_id: string; content_size: number | string }>();
      for (const row of rows) known.set(row.blob_digest, { diffId: row.diff_id, contentSize: Number(row.content_size) });
    }
    return known;
  }

  /** The distinct (blob, diff ID) claims of an image's unverified layers; none when the image is gone. */
  async unverifiedLayers(imageId: string): Promise<UnverifiedLayer[]> {
    const rows = await this.dataSource.manager.find(ImageLayerEntity, {
      where: { imageId, verified: false },
      order: { position: 'ASC' },
      select: ['blobDigest', 'diffId'],
    });
    const claims = new Map<string, UnverifiedLayer>();
    for (const r of rows) claims.set(`${r.blobDigest} ${r.diffId}`, { blobDigest: r.blobDigest, diffId: r.diffId });
    return [...claims.values()];
  }

  /**
   * The blob was read and holds `diffId`: every unverified row claiming exactly that, in any
   * image, becomes verified with the true content size, and those images' sizes are computed
   * again as a commit computes them. Returns the images changed.
   */
  async markLayerVerified(blobDigest: string, diffId: string, contentSize: number): Promise<string[]> {
    return this.dataSource.transaction(async (em) => {
      const claims = await em.find(ImageLayerEntity, { where: { blobDigest, diffId, verified: false }, select: ['imageId'] });
      const changed: string[] = [];
      // Sorted: two verifications locking the same images take them in the same order.
      for (const imageId of [...new Set(claims.map((c) => c.imageId))].sort()) {
        // The image row first, as a removal takes it (then its layers, by cascade), so the two
        // never deadlock; and a verification of another layer of this image waits here (SQLite
        // serialises write transactions anyway) instead of summing sizes it is changing.
        const query = em.createQueryBuilder(ImageEntity, 'i').select('i.id').where('i.id = :imageId', { imageId });
        const image = await (em.connection.options.type === 'postgres' ? query.setLock('pessimistic_write') : query).getOne();
        if (!image) continue;
        await em.update(ImageLayerEntity, { imageId, blobDigest, diffId, verified: false }, { verified: true, contentSize });
        const layers = await em.find(ImageLayerEntity, { where: { imageId }, select: ['contentSize'] });
        await em.update(ImageEntity, { id: imageId }, { size: imageSize(layers) });
        changed.push(imageId);
      }
      if (changed.length) await this.refs.bumpVersion(em);
      return changed;
    });
  }

  /** The image `repository:tag` points at, if any. */
  async tagTarget(repository: string, tag: string): Promise<string | null> {
    return (await this.refs.findTag(repository, tag))?.imageId ?? null;
  }

  /** The image `repository@digest` points at, if any. */
  async digestTarget(repository: string, digest: string): Promise<string | null> {
    return (await this.refs.findDigest(repository, digest))?.imageId ?? null;
  }

  /**
   * Makes the references of a pulled image true, in one transaction, changing only what is
   * missing (a job may run twice): the tag moves to the image; `repository@repoDigest` is added
   * when absent (as dockerd, an existing digest reference is never repointed); the index is
   * recorded with its entries.
   */
  async recordPull(input: PullReferences): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      // The index first: referencing it links its entries into the repository.
      let changed = input.index ? await this.recordIndex(em, input.index) : false;
      if (input.tag !== undefined && (await this.refs.findTag(input.repository, input.tag, em))?.imageId !== input.imageId) {
        await this.refs.setTag(input.repository, input.tag, input.imageId, input.manifestDigest, em);
        changed = true;
      }
      if (!(await this.refs.findDigest(input.repository, input.repoDigest, em))) {
        await this.refs.addDigest(input.repository, input.repoDigest, input.imageId, em);
        changed = true;
      }
      if (changed) await this.refs.bumpVersion(em);
    });
  }

  /** Adds `repository@digest` unless it exists (dockerd's addDigestReference). */
  async recordDigest(repository: string, digest: string, imageId: string): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      if (await this.refs.findDigest(repository, digest, em)) return;
      await this.refs.addDigest(repository, digest, imageId, em);
      await this.refs.bumpVersion(em);
    });
  }

  private recordIndex(em: EntityManager, index: PulledIndex): Promise<boolean> {
    return insertManifest(em, index);
  }

  /** The tags of a repository (sorted) and how many digest references it has. */
  async repositoryReferences(repository: string): Promise<{ tags: Array<{ tag: string; imageId: string }>; digests: number }> {
    const repo = await this.dataSource.manager.findOneBy(RepositoryEntity, { name: repository });
    if (!repo) return { tags: [], digests: 0 };
    const tags = await this.dataSource.manager.find(TagEntity, { where: { repositoryId: repo.id }, select: ['name', 'imageId'] });
    const digests = await this.dataSource.manager.countBy(RepoDigestEntity, { repositoryId: repo.id });
    const imageTags = tags.flatMap((t) => (t.imageId ? [{ tag: t.name, imageId: t.imageId }] : []));
    return { tags: imageTags.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)), digests };
  }

  /** The manifest, config and layers an image is pushed with; null when the image is gone. */
  async pushableImage(imageId: string): Promise<PushableImage | null> {
    const image = await this.dataSource.manager.findOne(ImageEntity, { where: { id: imageId }, select: ['id', 'manifestDigest'] });
    if (!image) return null;
    const manifest = await this.findManifest(image.manifestDigest);
    if (!manifest) return null;
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    if (parsed.kind !== 'manifest') return null;
    const layers = await this.dataSource.manager.find(ImageLayerEntity, { where: { imageId }, order: { position: 'ASC' }, select: ['position', 'diffId'] });
    if (layers.length !== parsed.layers.length) return null;
    return {
      manifest: { digest: image.manifestDigest, mediaType: manifest.mediaType, bytes: manifest.bytes },
      config: { digest: parsed.config.digest, size: parsed.config.size },
      layers: parsed.layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: layers[i].diffId })),
    };
  }

  /**
   * Repositories on registry `domain` (other than `exclude`) the blob was pulled from or pushed
   * to: a `repository@digest` reference names an image using it. Candidates for a cross-repository mount.
   */
  async mountSources(domain: string, blobDigest: string, exclude: string, limit = 3): Promise<string[]> {
    const rows = await this.dataSource.manager
      .createQueryBuilder(RepoDigestEntity, 'd')
      .innerJoin(RepositoryEntity, 'r', 'r.id = d.repository_id')
      .innerJoin(ImageLayerEntity, 'l', 'l.image_id = d.image_id')
      .select('r.name', 'name')
      .distinct(true)
      .where('l.blob_digest = :blobDigest', { blobDigest })
      .andWhere('r.name LIKE :prefix', { prefix: `${domain}/%` })
      .andWhere('r.name <> :exclude', { exclude })
      .orderBy('r.name')
      .limit(limit * 4)
      .getRawMany<{ name: string }>();
    // LIKE treats `_` as a wildcard: keep exact prefixes only.
    return rows.map((r) => r.name).filter((name) => name.startsWith(`${domain}/`)).slice(0, limit);
  }
}
