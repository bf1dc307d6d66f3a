import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, In } from 'typeorm';
import { ImageEntity, ManifestRefEntity, RepoDigestEntity, RepositoryBlobEntity, RepositoryEntity, RepositoryManifestEntity, StoreStateEntity, TagEntity } from '@cargohold/db';

/** One repository reference to an image: a tag (`repo:tag`) or a digest (`repo@sha256:…`). */
export type ImageReference =
  | { kind: 'tag'; repository: string; repositoryId: number; tag: string; updatedAt: number }
  | { kind: 'digest'; repository: string; repositoryId: number; digest: string };

/**
 * Reads and writes of the reference store (tags and digests) and image rows. Every method
 * takes an optional EntityManager so callers can compose them inside one transaction.
 */
@Injectable()
export class ImageReferencesRepository {
  constructor(readonly dataSource: DataSource) {}

  async referencesOf(imageIds: readonly string[], em: EntityManager = this.dataSource.manager): Promise<Map<string, ImageReference[]>> {
    const result = new Map<string, ImageReference[]>();
    if (!imageIds.length) return result;
    const push = (id: string, ref: ImageReference) => {
      const list = result.get(id);
      if (list) list.push(ref);
      else result.set(id, [ref]);
    };
    // Chunked to stay under SQLite's bound-parameter limit.
    for (let i = 0; i < imageIds.length; i += 500) {
      const chunk = imageIds.slice(i, i + 500);
      const tags = await em
        .createQueryBuilder(TagEntity, 't')
        .innerJoin(RepositoryEntity, 'r', 'r.id = t.repository_id')
        .select(['t.image_id AS image_id', 't.name AS tag', 't.updated_at AS updated_at', 'r.name AS repository', 'r.id AS repository_id'])
        .where('t.image_id IN (:...chunk)', { chunk })
        .getRawMany<{ image_id: string; tag: string; updated_at: string | number; repository: string; repository_id: number }>();
      for (const t of tags) {
        push(t.image_id, { kind: 'tag', repository: t.repository, repositoryId: Number(t.repository_id), tag: t.tag, updatedAt: Number(t.updated_at) });
      }
      const digests = await em
        .createQueryBuilder(RepoDigestEntity, 'd')
        .innerJoin(RepositoryEntity, 'r', 'r.id = d.repository_id')
        .select(['d.image_id AS image_id', 'd.digest AS digest', 'r.name AS repository', 'r.id AS repository_id'])
        .where('d.image_id IN (:...chunk)', { chunk })
        .getRawMany<{ image_id: string; digest: string; repository: string; repository_id: number }>();
      for (const d of digests) push(d.image_id, { kind: 'digest', repository: d.repository, repositoryId: Number(d.repository_id), digest: d.digest });
    }
    for (const refs of result.values()) refs.sort(compareRefs);
    return result;
  }

  /** Every reference in the store, grouped by image (for listing; raw rows, it is the hot path). */
  async allReferences(em: EntityManager = this.dataSource.manager): Promise<Map<string, ImageReference[]>> {
    const result = new Map<string, ImageReference[]>();
    const push = (id: string, ref: ImageReference) => {
      const list = result.get(id);
      if (list) list.push(ref);
      else result.set(id, [ref]);
    };
    const tags = (await em.query(
      'SELECT t.image_id, t.name, t.updated_at, t.repository_id, r.name AS repository FROM tag t JOIN repository r ON r.id = t.repository_id WHERE t.image_id IS NOT NULL',
    )) as Array<{ image_id: string; name: string; updated_at: string | number; repository_id: number; repository: string }>;
    for (const t of tags) {
      push(t.image_id, { kind: 'tag', repository: t.repository, repositoryId: Number(t.repository_id), tag: t.name, updatedAt: Number(t.updated_at) });
    }
    const digests = (await em.query(
      'SELECT d.image_id, d.digest, d.repository_id, r.name AS repository FROM repo_digest d JOIN repository r ON r.id = d.repository_id',
    )) as Array<{ image_id: string; digest: string; repository_id: number; repository: string }>;
    for (const d of digests) push(d.image_id, { kind: 'digest', repository: d.repository, repositoryId: Number(d.repository_id), digest: d.digest });
    for (const refs of result.values()) if (refs.length > 1) refs.sort(compareRefs);
    return result;
  }

  async findTag(repository: string, tag: string, em: EntityManager = this.dataSource.manager): Promise<TagEntity | null> {
    const repo = await em.findOneBy(RepositoryEntity, { name: repository });
    return repo ? em.findOneBy(TagEntity, { repositoryId: repo.id, name: tag }) : null;
  }

  async findDigest(repository: string, digest: string, em: EntityManager = this.dataSource.manager): Promise<RepoDigestEntity | null> {
    const repo = await em.findOneBy(RepositoryEntity, { name: repository });
    return repo ? em.findOneBy(RepoDigestEntity, { repositoryId: repo.id, digest }) : null;
  }

  /** The repository's row, created when missing (safe against concurrent creators). */
  async ensureRepository(name: string, em: EntityManager): Promise<number> {
    await em.createQueryBuilder().insert().into(RepositoryEntity).values({ name, createdAt: Date.now() }).orIgnore().execute();
    const repo = await em.findOneByOrFail(RepositoryEntity, { name });
    return repo.id;
  }

  /** Point `repository:tag` at an image; returns the image it pointed at before, if another. */
  async setTag(repository: string, tag: string, imageId: string | null, manifestDigest: string, em: EntityManager): Promise<string | null> {
    const repositoryId = await this.ensureRepository(repository, em);
    const previous = await em.findOneBy(TagEntity, { repositoryId, name: tag });
    await em
      .createQueryBuilder()
      .insert()
      .into(TagEntity)
      .values({ repositoryId, name: tag, imageId, manifestDigest, updatedAt: Date.now() })
      .orUpdate(['image_id', 'manifest_digest', 'updated_at'], ['repository_id', 'name'])
      .execute();
    await this.linkManifest(repositoryId, manifestDigest, em);
    return previous?.imageId && previous.imageId !== imageId ? previous.imageId : null;
  }

  async addDigest(repository: string, digest: string, imageId: string, em: EntityManager): Promise<void> {
    const repositoryId = await this.ensureRepository(repository, em);
    await em
      .createQueryBuilder()
      .insert()
      .into(RepoDigestEntity)
      .values({ repositoryId, digest, imageId, createdAt: Date.now() })
      .orUpdate(['image_id'], ['repository_id', 'digest'])
      .execute();
    await this.linkManifest(repositoryId, digest, em);
  }

  /**
   * Puts a manifest into a repository for the registry API: the manifest, the manifests an
   * index lists, and every blob they reference become readable (and mountable) there. Every
   * path that names a manifest in a repository (tag, digest reference, registry push) calls it.
   */
  async linkManifest(repositoryId: number, manifestDigest: string, em: EntityManager, depth = 0): Promise<void> {
    const now = Date.now();
    await em.createQueryBuilder().insert().into(RepositoryManifestEntity).values({ repositoryId, manifestDigest, createdAt: now }).orIgnore().execute();
    const refs = await em.find(ManifestRefEntity, { where: { manifestDigest }, select: ['kind', 'targetDigest'] });
    const blobs = [...new Set(refs.filter((r) => r.kind !== 'manifest').map((r) => r.targetDigest))];
    if (blobs.length) await this.linkBlobs(repositoryId, blobs, em);
    // Indexes of indexes are allowed but rare; two levels cover every image index in practice.
    if (depth < 2) for (const child of refs.filter((r) => r.kind === 'manifest')) await this.linkManifest(repositoryId, child.targetDigest, em, depth + 1);
  }

  async linkBlobs(repositoryId: number, digests: readonly string[], em: EntityManager): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < digests.length; i += 200) {
      const values = digests.slice(i, i + 200).map((blobDigest) => ({ repositoryId, blobDigest, createdAt: now }));
      await em.createQueryBuilder().insert().into(RepositoryBlobEntity).values(values).orIgnore().execute();
    }
  }

  async removeReference(ref: ImageReference, em: EntityManager): Promise<void> {
    if (ref.kind === 'tag') await em.delete(TagEntity, { repositoryId: ref.repositoryId, name: ref.tag });
    else await em.delete(RepoDigestEntity, { repositoryId: ref.repositoryId, digest: ref.digest });
  }

  /** Mark the store changed; call inside every transaction that changes images or references. */
  async bumpVersion(em: EntityManager): Promise<void> {
    await em.createQueryBuilder().update(StoreStateEntity).set({ version: () => 'version + 1' }).where('id = 1').execute();
  }

  /** The store's change counter (see StoreStateEntity). */
  async storeVersion(em: EntityManager = this.dataSource.manager): Promise<number> {
    const rows = (await em.query('SELECT version FROM store_state WHERE id = 1')) as Array<{ version: number | string }>;
    return Number(rows[0]?.version ?? 0);
  }

  async hasChildren(imageId: string, em: EntityManager = this.dataSource.manager): Promise<boolean> {
    return (await em.countBy(ImageEntity, { parentId: imageId })) > 0;
  }

  async imagesById(ids: readonly string[], em: EntityManager = this.dataSource.manager): Promise<ImageEntity[]> {
    const out: ImageEntity[] = [];
    for (let i = 0; i < ids.length; i += 500) out.push(...(await em.findBy(ImageEntity, { id: In(ids.slice(i, i + 500)) })));
    return out;
  }
}

function compareRefs(a: ImageReference, b: ImageReference): number {
  const ka = a.kind === 'tag' ? `${a.repository}:${a.tag}` : `${a.repository}@${a.digest}`;
  const kb = b.kind === 'tag' ? `${b.repository}:${b.tag}` : `${b.repository}@${b.digest}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
