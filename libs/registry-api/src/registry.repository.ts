import { Inject, Injectable } from '@nestjs/common';
import { BLOB_STORE, type BlobStore } from '@cargohold/storage';
import { DataSource, type EntityManager, In, MoreThan } from 'typeorm';
import {
  ContainerEntity,
  ImageEntity,
  ManifestEntity,
  ManifestRefEntity,
  RepoDigestEntity,
  RepositoryBlobEntity,
  RepositoryEntity,
  RepositoryManifestEntity,
  TagEntity,
  UploadEntity,
} from '@cargohold/db';
import { claimBlobs, ImageReferencesRepository } from '@cargohold/image-store';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface UploadPart {
  key: string;
  size: number;
}

export interface UploadSession {
  id: string;
  repositoryId: number;
  size: number;
  parts: UploadPart[];
  createdAt: number;
}

export interface ReferrerRow {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  content: string;
  configMediaType: string | null;
}

const toSession = (row: UploadEntity): UploadSession => ({
  id: row.id,
  repositoryId: row.repositoryId,
  size: row.size,
  parts: JSON.parse(row.parts) as UploadPart[],
  createdAt: row.createdAt,
});

/**
 * The registry API's view of the database: which manifests and blobs each repository holds
 * (its links), tags, upload sessions. Image rows and tags are written through the image store's
 * repository so the Docker API sees the same references.
 */
@Injectable()
export class RegistryRepository {
  constructor(
    private readonly dataSource: DataSource,
    readonly refs: ImageReferencesRepository,
    @Inject(BLOB_STORE) readonly blobs: BlobStore,
  ) {}

  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async repositoryId(name: string): Promise<number | null> {
    const row = await this.dataSource.manager.findOne(RepositoryEntity, { where: { name }, select: ['id'] });
    return row?.id ?? null;
  }

  async ensureRepository(name: string): Promise<number> {
    return this.dataSource.transaction((em) => this.refs.ensureRepository(name, em));
  }

  /** The manifest `repository:tag` names. */
  async manifestByTag(repositoryId: number, tag: string): Promise<StoredManifest | null> {
    const row = await this.dataSource.manager.findOne(TagEntity, { where: { repositoryId, name: tag }, select: ['manifestDigest'] });
    return row ? this.manifest(row.manifestDigest) : null;
  }

  /** The manifest, if the repository holds it. */
  async manifestByDigest(repositoryId: number, digest: string): Promise<StoredManifest | null> {
    return (await this.manifestLinked(repositoryId, digest)) ? this.manifest(digest) : null;
  }

  async manifestLinked(repositoryId: number, manifestDigest: string, em: EntityManager = this.dataSource.manager): Promise<boolean> {
    return em.existsBy(RepositoryManifestEntity, { repositoryId, manifestDigest });
  }

  async manifestsLinked(repositoryId: number, digests: readonly string[], em: EntityManager = this.dataSource.manager): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await em.find(RepositoryManifestEntity, { where: { repositoryId, manifestDigest: In(digests.slice(i, i + 500)) }, select: ['manifestDigest'] });
      for (const r of rows) found.add(r.manifestDigest);
    }
    return found;
  }

  private async manifest(digest: string): Promise<StoredManifest | null> {
    const row = await this.dataSource.manager.findOne(ManifestEntity, { where: { digest }, select: ['digest', 'mediaType', 'content'] });
    return row ? { digest: row.digest, mediaType: row.mediaType, bytes: Buffer.from(row.content, 'utf8') } : null;
  }

  async blobLinked(repositoryId: number, blobDigest: string): Promise<boolean> {
    return this.dataSource.manager.existsBy(RepositoryBlobEntity, { repositoryId, blobDigest });
  }

  async blobsLinked(repositoryId: number, digests: readonly string[], em: EntityManager = this.dataSource.manager): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await em.find(RepositoryBlobEntity, { where: { repositoryId, blobDigest: In(digests.slice(i, i + 500)) }, select: ['blobDigest'] });
      for (const r of rows) found.add(r.blobDigest);
    }
    return found;
  }

  /** Repositories holding the blob (candidates for a mount without `from`). */
  async repositoriesWithBlob(blobDigest: string): Promise<string[]> {
    const rows = await this.dataSource.manager
      .createQueryBuilder(RepositoryBlobEntity, 'l')
      .innerJoin(RepositoryEntity, 'r', 'r.id = l.repository_id')
      .select('r.name', 'name')
      .where('l.blob_digest = :blobDigest', { blobDigest })
      .getRawMany<{ name: string }>();
    return rows.map((r) => r.name);
  }

  /** Records a committed blob and puts it into the repository (refused while the sweep deletes it). */
  async linkBlob(repository: string, digest: string, size: number): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      const repositoryId = await this.refs.ensureRepository(repository, em);
      await claimBlobs(em, this.blobs, [{ digest, size }]);
      await this.refs.linkBlobs(repositoryId, [digest], em);
    });
  }

  /**
   * As with docker-registry, a manifest deleted from its last repository is gone: the image it is
   * goes too when nothing else names it (no tag, digest reference, container or child image), so
   * the next gc sweep reclaims its blobs. An image still named elsewhere stays.
   */
  private async deleteImageIfUnreferenced(em: EntityManager, manifestDigest: string): Promise<void> {
    if (await em.existsBy(RepositoryManifestEntity, { manifestDigest })) return;
    const image = await em.findOne(ImageEntity, { where: { manifestDigest }, select: ['id'] });
    if (!image) return;
    const named =
      (await em.existsBy(TagEntity, { imageId: image.id })) ||
      (await em.existsBy(RepoDigestEntity, { imageId: image.id })) ||
      (await em.existsBy(ContainerEntity, { imageId: image.id })) ||
      (await em.existsBy(ImageEntity, { parentId: image.id }));
    if (!named) await em.delete(ImageEntity, { id: image.id });
  }

  /** Takes the blob out of the repository (the bytes stay until the gc sweep finds them unreferenced). */
  async unlinkBlob(repositoryId: number, blobDigest: string): Promise<boolean> {
    const result = await this.dataSource.manager.delete(RepositoryBlobEntity, { repositoryId, blobDigest });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Takes the manifest out of the repository with every tag and digest reference to it there,
   * as distribution does; the image row stays (dangling) until a prune.
   */
  async unlinkManifest(repositoryId: number, manifestDigest: string): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      const linked = await em.delete(RepositoryManifestEntity, { repositoryId, manifestDigest });
      if (!linked.affected) return false;
      await em.delete(TagEntity, { repositoryId, manifestDigest });
      await em.delete(RepoDigestEntity, { repositoryId, digest: manifestDigest });
      await this.deleteImageIfUnreferenced(em, manifestDigest);
      await this.refs.bumpVersion(em);
      return true;
    });
  }

  async deleteTag(repositoryId: number, name: string): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      const result = await em.delete(TagEntity, { repositoryId, name });
      if (!result.affected) return false;
      await this.refs.bumpVersion(em);
      return true;
    });
  }

  /** Tags of a repository in lexical order, after `last`, at most `limit`. */
  async tags(repositoryId: number, limit: number, last?: string): Promise<string[]> {
    const rows = await this.dataSource.manager.find(TagEntity, {
      where: last === undefined ? { repositoryId } : { repositoryId, name: MoreThan(last) },
      select: ['name'],
      order: { name: 'ASC' },
      take: limit,
    });
    return rows.map((r) => r.name);
  }

  /** Every repository that holds at least one manifest. */
  async repositoriesWithManifests(): Promise<string[]> {
    const rows = await this.dataSource.manager
      .createQueryBuilder(RepositoryEntity, 'r')
      .select('r.name', 'name')
      .where('EXISTS (SELECT 1 FROM repository_manifest m WHERE m.repository_id = r.id)')
      .getRawMany<{ name: string }>();
    return rows.map((r) => r.name);
  }

  /** Manifests in the repository whose subject is `subjectDigest`. */
  async referrers(repositoryId: number, subjectDigest: string): Promise<ReferrerRow[]> {
    const rows = await this.dataSource.manager
      .createQueryBuilder(ManifestEntity, 'm')
      .innerJoin(RepositoryManifestEntity, 'l', 'l.manifest_digest = m.digest AND l.repository_id = :repositoryId', { repositoryId })
      .leftJoin(ManifestRefEntity, 'c', "c.manifest_digest = m.digest AND c.kind = 'config'")
      .select(['m.digest AS digest', 'm.media_type AS media_type', 'm.size AS size', 'm.artifact_type AS artifact_type', 'm.content AS content', 'c.media_type AS config_media_type'])
      .where('m.subject_digest = :subjectDigest', { subjectDigest })
      .orderBy('m.digest')
      .getRawMany<{ digest: string; media_type: string; size: number | string; artifact_type: string | null; content: string; config_media_type: string | null }>();
    return rows.map((r) => ({
      digest: r.digest,
      mediaType: r.media_type,
      size: Number(r.size),
      artifactType: r.artifact_type,
      content: r.content,
      configMediaType: r.config_media_type,
    }));
  }

  async createUpload(id: string, repositoryId: number): Promise<UploadSession> {
    const now = Date.now();
    const row = { id, repositoryId, size: 0, parts: '[]', createdAt: now, updatedAt: now };
    await this.dataSource.manager.insert(UploadEntity, row);
    return toSession(row);
  }

  async upload(id: string, repositoryId: number): Promise<UploadSession | null> {
    const row = await this.dataSource.manager.findOneBy(UploadEntity, { id, repositoryId });
    return row ? toSession(row) : null;
  }

  /**
   * Appends a staged part if the session is still at `expectedSize` (compare-and-set, so two
   * racing PATCHes cannot both land at the same offset). Returns the session after, or null.
   */
  async appendPart(session: UploadSession, part: UploadPart): Promise<UploadSession | null> {
    const parts = [...session.parts, part];
    const size = session.size + part.size;
    const result = await this.dataSource.manager
      .createQueryBuilder()
      .update(UploadEntity)
      .set({ size, parts: JSON.stringify(parts), updatedAt: Date.now() })
      .where('id = :id AND size = :expected', { id: session.id, expected: session.size })
      .execute();
    return result.affected ? { ...session, size, parts } : null;
  }

  async deleteUpload(id: string): Promise<boolean> {
    const result = await this.dataSource.manager.delete(UploadEntity, { id });
    return (result.affected ?? 0) > 0;
  }
}
