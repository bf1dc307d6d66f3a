import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { familiarName } from '@cargohold/oci';
import { ImageEntity, ImageLayerEntity } from '@cargohold/db';
import { filterBool, globMatch, matchLabels, parseDockerFilters, parseTimestamp } from './docker-filters.util';
import { ImageReferencesRepository, type ImageReference } from './image-references.repository';
import { familiarDigest, familiarTag, noSuchImageText, parseImageLookup } from './image-ref.util';
import { notFound } from './image-store.errors';
import type { HistoryItem, ImageInspect, ImageSummary } from './image.types';

export const IMAGE_LIST_FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'] as const;

export interface ListImagesOptions {
  all?: boolean;
  /** Raw `filters` JSON as the Docker API receives it. */
  filters?: string;
  sharedSize?: boolean;
}

/** Read side of the image store: name resolution, `image ls`, inspect, history. */
@Injectable()
export class ImageCatalogService {
  private cached: { version: number; listing: Promise<Listing> } | null = null;
  private jsonCache: { version: number; bodies: Map<string, string> } = { version: -1, bodies: new Map() };

  constructor(
    private readonly dataSource: DataSource,
    private readonly refs: ImageReferencesRepository,
  ) {}

  /**
   * Resolve an image argument exactly as dockerd's GetImage: full ID, `sha256:` ID, a
   * repository reference (default tag `latest`, or `@digest`), then an ID prefix.
   */
  async resolve(input: string, em: EntityManager = this.dataSource.manager): Promise<ImageEntity> {
    const lookup = parseImageLookup(input);
    if (lookup.kind === 'id') {
      const img = await em.findOneBy(ImageEntity, { id: lookup.id });
      if (img) return img;
      throw notFound(noSuchImageText(input));
    }
    const { ref } = lookup;
    const target = ref.digest
      ? (await this.refs.findDigest(ref.name, ref.digest, em))?.imageId
      : (await this.refs.findTag(ref.name, ref.tag ?? 'latest', em))?.imageId;
    if (target) {
      const img = await em.findOneBy(ImageEntity, { id: target });
      if (img) return img;
    }
    if (lookup.idPrefix) {
      const lo = `sha256:${lookup.idPrefix}`;
      const matches = await em
        .createQueryBuilder(ImageEntity, 'i')
        .where('i.id >= :lo AND i.id < :hi', { lo, hi: `${lo}g` })
        .limit(2)
        .getMany();
      if (matches.length === 1) return matches[0];
    }
    throw notFound(noSuchImageText(input));
  }

  async list(options: ListImagesOptions = {}): Promise<ImageSummary[]> {
    const filters = parseDockerFilters(options.filters, IMAGE_LIST_FILTERS);
    const danglingOnly = filterBool(filters, 'dangling', false);
    let before = Infinity;
    let since = -Infinity;
    for (const v of filters.get('before') ?? []) before = Math.min(before, (await this.resolve(v)).created);
    for (const v of filters.get('until') ?? []) before = Math.min(before, parseTimestamp(v));
    for (const v of filters.get('since') ?? []) since = Math.max(since, (await this.resolve(v)).created);
    const labelFilter = filters.get('label');
    const referenceFilter = filters.get('reference');
    const listing = await this.listing();
    const shared = options.sharedSize ? await this.sharedSizes() : null;

    const summaries: ImageSummary[] = [];
    for (const img of listing.images) {
      const hasChildren = listing.parents.has(img.id);
      if (danglingOnly && hasChildren) continue;
      if (before !== Infinity && !(img.created < before)) continue;
      if (since !== -Infinity && !(img.created > since)) continue;
      if (labelFilter && !matchLabels(labelFilter, img.labels)) continue;

      let refs = listing.refs.get(img.id) ?? NO_REFS;
      if (referenceFilter) refs = refs.filter((r) => referenceFilter.some((p) => globMatch(p, r.familiar) || globMatch(p, r.familiarRepository)));
      const repoTags: string[] = [];
      const repoDigests: string[] = [];
      for (const r of refs) (r.kind === 'tag' ? repoTags : repoDigests).push(r.familiar);

      if (!repoTags.length && !repoDigests.length) {
        if (!(options.all || !hasChildren)) continue; // untagged intermediate image
        if (filters.has('dangling') && !danglingOnly) continue;
        if (referenceFilter) continue;
      } else if (danglingOnly && repoTags.length) continue;

      summaries.push({
        Containers: -1,
        Created: Math.floor(img.created / 1000),
        Id: img.id,
        Labels: img.labels,
        ParentId: img.parentId ?? '',
        RepoDigests: repoDigests,
        RepoTags: repoTags,
        SharedSize: shared ? (shared.get(img.id) ?? 0) : -1,
        Size: img.size,
      });
    }
    summaries.sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : 1));
    return summaries;
  }

  /**
   * `list` serialized, with the JSON reused while the store version and the query are the same:
   * CI fleets poll `docker image ls` with the same arguments, and at 10,000 images building the
   * JSON costs more than everything else. Relative `until` values depend on the clock: never cached.
   */
  async listJson(options: ListImagesOptions = {}): Promise<string> {
    const version = await this.refs.storeVersion();
    const key = JSON.stringify([options.all ?? false, options.filters ?? '', options.sharedSize ?? false]);
    const cacheable = !options.filters?.includes('"until"');
    if (this.jsonCache.version !== version) this.jsonCache = { version, bodies: new Map() };
    const hit = cacheable ? this.jsonCache.bodies.get(key) : undefined;
    if (hit) return hit;
    const cache = this.jsonCache;
    const body = JSON.stringify(await this.list(options));
    if (cacheable && cache.version === version) {
      if (cache.bodies.size >= 32) cache.bodies.clear();
      cache.bodies.set(key, body);
    }
    return body;
  }

  /**
   * Images and references as listing needs them, cached per store version: every change bumps
   * the version in its own transaction, so one tiny query tells whether the cache is current
   * (whichever process made the change).
   */
  private async listing(): Promise<Listing> {
    const version = await this.refs.storeVersion();
    if (this.cached?.version !== version) {
      const loading = this.loadListing(version);
      this.cached = { version, listing: loading };
      loading.catch(() => {
        if (this.cached?.listing === loading) this.cached = null;
      });
    }
    return this.cached.listing;
  }

  private async loadListing(version: number): Promise<Listing> {
    const rows = (await this.dataSource.query('SELECT id, parent_id, created, size, labels FROM image')) as ImageRow[];
    const images = rows.map((row) => {
      const labels = JSON.parse(row.labels) as Record<string, string>;
      return {
        id: row.id,
        parentId: row.parent_id,
        created: Number(row.created),
        size: Number(row.size),
        labels: Object.keys(labels).length ? labels : null,
      };
    });
    const parents = new Set(images.map((r) => r.parentId).filter((p): p is string => !!p));
    const familiarRepos = new Map<string, string>();
    const familiarRepo = (name: string) => {
      let f = familiarRepos.get(name);
      if (f === undefined) familiarRepos.set(name, (f = familiarName(name)));
      return f;
    };
    const refs = new Map<string, ListedRef[]>();
    for (const [id, list] of await this.refs.allReferences()) {
      refs.set(
        id,
        list.map((r) => {
          const repo = familiarRepo(r.repository);
          return { kind: r.kind, familiarRepository: repo, familiar: r.kind === 'tag' ? `${repo}:${r.tag}` : `${repo}@${r.digest}` };
        }),
      );
    }
    return { version, images, parents, refs };
  }

  /** Bytes each image shares with at least one other image (layers counted by diff ID). */
  private async sharedSizes(): Promise<Map<string, number>> {
    const layers = await this.dataSource.getRepository(ImageLayerEntity).find({ select: ['imageId', 'diffId', 'contentSize'] });
    const users = new Map<string, Set<string>>();
    for (const l of layers) {
      const set = users.get(l.diffId) ?? new Set<string>();
      set.add(l.imageId);
      users.set(l.diffId, set);
    }
    const shared = new Map<string, number>();
    for (const l of layers) {
      if ((users.get(l.diffId)?.size ?? 0) > 1) shared.set(l.imageId, (shared.get(l.imageId) ?? 0) + l.contentSize);
    }
    return shared;
  }

  async inspect(input: string): Promise<ImageInspect> {
    const img = await this.resolve(input);
    const refs = (await this.refs.referencesOf([img.id])).get(img.id) ?? [];
    const config = JSON.parse(img.config) as ConfigJson;
    const lastTag = refs.reduce((max, r) => (r.kind === 'tag' ? Math.max(max, r.updatedAt) : max), 0);
    const result: ImageInspect = {
      Id: img.id,
      RepoTags: refs.filter((r) => r.kind === 'tag').map((r) => familiarTag(r.repository, r.tag)),
      RepoDigests: refs.filter((r) => r.kind === 'digest').map((r) => familiarDigest(r.repository, r.digest)),
      Parent: img.parentId ?? '',
      Comment: config.comment ?? '',
      Created: config.created ?? '0001-01-01T00:00:00Z',
      DockerVersion: config.docker_version ?? '',
      Author: config.author ?? '',
      Config: config.config ?? null,
      Architecture: img.architecture,
      Os: img.os,
      Size: img.size,
      GraphDriver: { Data: null, Name: 'cargohold' },
      RootFS: { Type: config.rootfs?.type ?? 'layers', Layers: config.rootfs?.diff_ids ?? [] },
      Metadata: { LastTagTime: lastTag ? new Date(lastTag).toISOString() : '0001-01-01T00:00:00Z' },
    };
    if (img.variant) result.Variant = img.variant;
    if (config['os.version']) result.OsVersion = config['os.version'];
    return result;
  }

  /** `docker image history`: newest first, IDs filled in along the parent chain. */
  async history(input: string): Promise<HistoryItem[]> {
    const img = await this.resolve(input);
    const config = JSON.parse(img.config) as ConfigJson;
    const layers = await this.dataSource.getRepository(ImageLayerEntity).find({ where: { imageId: img.id }, order: { position: 'ASC' } });
    const entries = config.history?.length ? config.history : layers.map(() => ({}) as HistoryJson);
    const items: HistoryItem[] = [];
    let layer = 0;
    for (const h of entries) {
      let size = 0;
      if (!h.empty_layer) size = layers[layer++]?.contentSize ?? 0;
      items.unshift({
        Id: '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: h.comment ?? '',
      });
    }
    let current: ImageEntity | null = img;
    for (const item of items) {
      if (!current) break;
      item.Id = current.id;
      const refs: ImageReference[] = (await this.refs.referencesOf([current.id])).get(current.id) ?? [];
      const tags = refs.filter((r) => r.kind === 'tag').map((r) => familiarTag(r.repository, r.tag));
      item.Tags = tags.length ? tags : null;
      current = current.parentId ? await this.dataSource.manager.findOneBy(ImageEntity, { id: current.parentId }) : null;
    }
    return items;
  }
}


interface ListedRef {
  kind: 'tag' | 'digest';
  familiar: string;
  familiarRepository: string;
}

interface Listing {
  version: number;
  images: Array<{ id: string; parentId: string | null; created: number; size: number; labels: Record<string, string> | null }>;
  parents: Set<string>;
  refs: Map<string, ListedRef[]>;
}

const NO_REFS: ListedRef[] = [];

interface ImageRow {
  id: string;
  parent_id: string | null;
  created: number | string;
  size: number | string;
  labels: string;
}

interface HistoryJson {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}
interface ConfigJson {
  created?: string;
  author?: string;
  comment?: string;
  docker_version?: string;
  'os.version'?: string;
  config?: Record<string, unknown>;
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: HistoryJson[];
}
