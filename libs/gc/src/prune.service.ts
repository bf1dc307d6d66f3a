import { Injectable, Logger } from '@nestjs/common';
import { DataSource, In, LessThan } from 'typeorm';
import { BuildCacheEntity, ContainerEntity, ImageEntity, RepositoryEntity, TagEntity } from '@cargohold/db';
import { ImageReferencesRepository, ImageRemovalService, ImageStoreError, matchLabels, matchNoLabels } from '@cargohold/image-store';
import type { PruneOptions, PruneResult } from '@cargohold/queue-contracts';

type Record_ = { Untagged?: string; Deleted?: string };

/** What a dry run needs to follow the removal: every image's parent and size, references and pins. */
interface StoreView {
  images: Map<string, Pick<ImageEntity, 'id' | 'parentId' | 'size'>>;
  pinned: Set<string>;
  /** Images some tag or digest reference names. */
  referenced: Set<string>;
}

/**
 * `docker image prune` (dangling images, or with `-a` every image no container uses, narrowed by
 * `until` and label filters), `docker builder prune` (build cache entries and the intermediate
 * images only they kept), and the schedules' "keep the newest N tags". Images go through the
 * same removal rules as `docker image rm` (references first, then the row, parents pruned), one
 * image per transaction, so a prune never holds the store for long and a conflict with a
 * concurrent writer skips that image instead of failing the run. Only rows change: blobs are
 * left to the sweep.
 */
@Injectable()
export class PruneService {
  private readonly logger = new Logger(PruneService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly removal: ImageRemovalService,
    private readonly refs: ImageReferencesRepository,
  ) {}

  async prune(options: PruneOptions): Promise<PruneResult> {
    // A relative age (schedules) becomes an instant when the prune runs; the earlier of both wins.
    if (options.olderThanSeconds !== undefined) {
      const relative = Date.now() - options.olderThanSeconds * 1000;
      const absolute = options.until ? Date.parse(options.until) : Number.POSITIVE_INFINITY;
      options = { ...options, until: new Date(Math.min(relative, absolute)).toISOString() };
    }
    return options.target === 'build-cache' ? this.pruneBuildCache(options) : this.pruneImages(options);
  }

  private async pruneImages(options: PruneOptions): Promise<PruneResult> {
    const records: Record_[] = [];
    if (options.keepNewestTags !== undefined) records.push(...(await this.untagAllButNewest(options.keepNewestTags, options.dryRun)));
    const { candidates, store } = await this.imageCandidates(options);
    if (options.dryRun) return { ...this.simulate(candidates, store, records), CachesDeleted: [], dryRun: true };
    let reclaimed = 0;
    for (const image of candidates) {
      try {
        // -a takes images with tags too: their references go first (force: they may span repositories).
        // Force: an image's references may span repositories; containers were ruled out above and
        // children still block (that conflict cannot be forced).
        const removed = await this.removal.remove(image.id, { force: true, prune: true });
        for (const record of removed) {
          records.push(record);
          if ('Deleted' in record) reclaimed += (await this.sizeOf(record.Deleted, candidates)) ?? 0;
        }
      } catch (error) {
        // A child, a container or a new tag appeared since the candidates were chosen: keep it.
        if (error instanceof ImageStoreError) continue;
        throw error;
      }
    }
    return { ImagesDeleted: records, CachesDeleted: [], SpaceReclaimed: reclaimed, dryRun: options.dryRun };
  }

  private async sizeOf(id: string, known: readonly ImageEntity[]): Promise<number | undefined> {
    return known.find((i) => i.id === id)?.size;
  }

  /**
   * dockerd's choice: with dangling-only, the untagged images nothing builds on (leaves; their
   * untagged parents go with them); with -a, every image. Images a container uses are never
   * candidates; filters narrow by creation time and labels.
   */
  private async imageCandidates(options: PruneOptions): Promise<{ candidates: ImageEntity[]; store: StoreView }> {
    const em = this.dataSource.manager;
    const until = options.until ? Date.parse(options.until) : undefined;
    // Every image once: the candidates are the ones before `until`, the rest is family a dry run follows.
    const family = await em.find(ImageEntity, { select: ['id', 'labels', 'size', 'created', 'parentId'], order: { created: 'DESC' } });
    const images = until === undefined ? family : family.filter((image) => image.created < until);
    const pinned = new Set((await em.find(ContainerEntity, { select: ['imageId'] })).map((c) => c.imageId));
    const parents = new Set(family.flatMap((i) => (i.parentId ? [i.parentId] : [])));
    const references = await this.refs.allReferences();
    // dockerd's dangling: no tag (digest references do not count), and nothing built on it.
    const tagged = new Set([...references.entries()].filter(([, refs]) => refs.some((r) => r.kind === 'tag')).map(([id]) => id));
    const store: StoreView = { images: new Map(family.map((i) => [i.id, i])), pinned, referenced: new Set([...references.entries()].filter(([, refs]) => refs.length).map(([id]) => id)) };
    const candidates = images.filter((image) => {
      if (pinned.has(image.id)) return false;
      if (options.danglingOnly && (tagged.has(image.id) || parents.has(image.id))) return false;
      const labels = JSON.parse(image.labels || '{}') as Record<string, string>;
      return matchLabels(options.labels, labels) && matchNoLabels(options.labelsNot, labels);
    });
    return { candidates, store };
  }

  /**
   * A dry run: what the removal would delete, candidates and the parents they take along, by the
   * removal's own rules (a parent goes when nothing references it, no container uses it and every
   * image built on it goes too), without changing anything.
   */
  private simulate(candidates: readonly ImageEntity[], store: StoreView, records: Record_[]): Pick<PruneResult, 'ImagesDeleted' | 'SpaceReclaimed'> {
    const children = new Map<string, string[]>();
    for (const image of store.images.values()) if (image.parentId) children.set(image.parentId, [...(children.get(image.parentId) ?? []), image.id]);
    const gone = new Set<string>();
    let reclaimed = 0;
    const remove = (image: Pick<ImageEntity, 'id' | 'size'>): void => {
      gone.add(image.id);
      records.push({ Deleted: image.id });
      reclaimed += image.size;
    };
    for (const candidate of candidates) {
      if (gone.has(candidate.id) || (children.get(candidate.id) ?? []).some((child) => !gone.has(child))) continue;
      remove(candidate);
      for (let parent = store.images.get(candidate.parentId ?? ''); parent && !gone.has(parent.id); parent = store.images.get(parent.parentId ?? '')) {
        if (store.referenced.has(parent.id) || store.pinned.has(parent.id)) break;
        if ((children.get(parent.id) ?? []).some((child) => !gone.has(child))) break;
        remove(parent);
      }
    }
    return { ImagesDeleted: records, SpaceReclaimed: reclaimed };
  }

  /** Schedules: in every repository, untag all but the `keep` most recently set tags. */
  private async untagAllButNewest(keep: number, dryRun: boolean): Promise<Record_[]> {
    const em = this.dataSource.manager;
    const tags = await em
      .createQueryBuilder(TagEntity, 't')
      .innerJoin(RepositoryEntity, 'r', 'r.id = t.repository_id')
      .select(['r.name AS repository', 't.name AS tag', 't.updated_at AS updated_at', 't.image_id AS image_id'])
      .where('t.image_id IS NOT NULL')
      .orderBy('r.name')
      .addOrderBy('t.updated_at', 'DESC')
      .getRawMany<{ repository: string; tag: string; updated_at: number | string; image_id: string }>();
    const records: Record_[] = [];
    const seen = new Map<string, number>();
    for (const t of tags) {
      const n = (seen.get(t.repository) ?? 0) + 1;
      seen.set(t.repository, n);
      if (n <= keep) continue;
      const ref = `${t.repository}:${t.tag}`;
      if (dryRun) {
        records.push({ Untagged: ref });
        continue;
      }
      try {
        // By name, without force: a tag a container relies on stays, as with `docker image rm`.
        for (const record of await this.removal.remove(ref, { force: false, prune: false })) if ('Untagged' in record) records.push(record);
      } catch (error) {
        if (!(error instanceof ImageStoreError)) throw error;
        this.logger.debug(`keeping ${ref}: ${error.message}`);
      }
    }
    return records;
  }

  /**
   * `docker builder prune`: cache entries (last used before `until`), then the intermediate images
   * only those entries kept: untagged, unpinned, nothing built on them. Removing one prunes its
   * untagged parents, so a chain goes leaf first.
   */
  private async pruneBuildCache(options: PruneOptions): Promise<PruneResult> {
    const em = this.dataSource.manager;
    const until = options.until ? Date.parse(options.until) : undefined;
    const entries = await em.find(BuildCacheEntity, { where: until !== undefined ? { lastUsedAt: LessThan(until) } : {}, select: ['key', 'imageId'] });
    const keys = entries.map((e) => e.key);
    const cachedImages = [...new Set(entries.map((e) => e.imageId))];
    const images = cachedImages.length ? await em.find(ImageEntity, { where: { id: In(cachedImages) }, select: ['id', 'size', 'parentId'] }) : [];
    if (options.dryRun) return { ImagesDeleted: [], CachesDeleted: keys, SpaceReclaimed: images.reduce((s, i) => s + i.size, 0), dryRun: true };
    for (let i = 0; i < keys.length; i += 500) await em.delete(BuildCacheEntity, { key: In(keys.slice(i, i + 500)) });

    const records: Record_[] = [];
    let reclaimed = 0;
    const stillCached = new Set((await em.find(BuildCacheEntity, { select: ['imageId'] })).map((e) => e.imageId));
    const referenced = await this.refs.allReferences();
    const pinned = new Set((await em.find(ContainerEntity, { select: ['imageId'] })).map((c) => c.imageId));
    const removable = images.filter((i) => !stillCached.has(i.id) && !referenced.has(i.id) && !pinned.has(i.id));
    for (let progress = true; progress; ) {
      progress = false;
      for (const image of removable) {
        if (records.some((r) => r.Deleted === image.id)) continue;
        if (await this.refs.hasChildren(image.id)) continue;
        try {
          for (const record of await this.removal.remove(image.id, { force: false, prune: false })) {
            records.push(record);
            if ('Deleted' in record) reclaimed += images.find((i) => i.id === record.Deleted)?.size ?? 0;
          }
          progress = true;
        } catch (error) {
          if (!(error instanceof ImageStoreError)) throw error;
        }
      }
    }
    return { ImagesDeleted: records, CachesDeleted: keys, SpaceReclaimed: reclaimed, dryRun: false };
  }
}
