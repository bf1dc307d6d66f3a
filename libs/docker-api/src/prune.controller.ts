import { Controller, Get, HttpCode, Post, Query, UseFilters } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BuildCacheEntity, ImageEntity } from '@cargohold/db';
import { ContainersService, ImageCatalogService, parseDockerFilters, filterBool, pruneUntil } from '@cargohold/image-store';
import { JobProducer } from '@cargohold/queue';
import { JobName, type PruneOptions, type PruneResult } from '@cargohold/queue-contracts';
import { DockerErrorFilter } from './docker-error.filter';
import { boolParam, stringParam } from './query.util';

type Query = Record<string, unknown>;

/** `until`, `label`, `label!` as dockerd reads them for a prune; `until` fixed to an instant here. */
function pruneFilters(raw: string | undefined, accepted: string[]): Pick<PruneOptions, 'until' | 'labels' | 'labelsNot'> & { filters: Map<string, string[]> } {
  const filters = parseDockerFilters(raw, accepted);
  const until = pruneUntil(filters);
  return {
    filters,
    until: until === undefined ? undefined : new Date(until).toISOString(),
    labels: filters.get('label') ?? [],
    labelsNot: filters.get('label!') ?? [],
  };
}

/**
 * `docker image prune`, `docker builder prune` and `docker system df`. Prunes run on the gc
 * service as `prune.v1` jobs; the gateway waits for the result and answers as dockerd does.
 */
@Controller()
@UseFilters(DockerErrorFilter)
export class PruneController {
  constructor(
    private readonly producer: JobProducer,
    private readonly dataSource: DataSource,
    private readonly catalog: ImageCatalogService,
    private readonly containers: ContainersService,
  ) {}

  @Post('images/prune')
  @HttpCode(200)
  async pruneImages(@Query() q: Query): Promise<{ ImagesDeleted: PruneResult['ImagesDeleted'] | null; SpaceReclaimed: number }> {
    const { filters, ...rest } = pruneFilters(stringParam(q.filters), ['dangling', 'until', 'label', 'label!']);
    const result = await this.producer.follow({ name: JobName.Prune, data: { target: 'images', danglingOnly: filterBool(filters, 'dangling', true), ...rest } }, () => undefined);
    return { ImagesDeleted: result.ImagesDeleted.length ? result.ImagesDeleted : null, SpaceReclaimed: result.SpaceReclaimed };
  }

  @Post('build/prune')
  @HttpCode(200)
  async pruneBuildCache(@Query() q: Query): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    const { filters: _filters, ...rest } = pruneFilters(stringParam(q.filters), ['until', 'label', 'label!', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private']);
    void boolParam(q.all);
    const result = await this.producer.follow({ name: JobName.Prune, data: { target: 'build-cache', danglingOnly: true, ...rest } }, () => undefined);
    return { CachesDeleted: result.CachesDeleted.length ? result.CachesDeleted : null, SpaceReclaimed: result.SpaceReclaimed };
  }

  @Get('system/df')
  async diskUsage(): Promise<Record<string, unknown>> {
    const images = await this.catalog.list({ sharedSize: true });
    const containers = await this.containers.list({ all: true });
    const using = new Map<string, number>();
    for (const c of containers) using.set(c.ImageID, (using.get(c.ImageID) ?? 0) + 1);
    const layers = (await this.dataSource.query('SELECT COALESCE(SUM(content_size), 0) AS total FROM (SELECT DISTINCT blob_digest, content_size FROM image_layer) u')) as Array<{ total: number | string }>;
    const cache = await this.dataSource.manager.find(BuildCacheEntity);
    const cachedImages = cache.length ? await this.dataSource.manager.findByIds(ImageEntity, [...new Set(cache.map((c) => c.imageId))]) : [];
    const sizeOf = new Map(cachedImages.map((i) => [i.id, i.size]));
    return {
      LayersSize: Number(layers[0]?.total ?? 0),
      Images: images.map((image) => ({ ...image, Containers: using.get(image.Id) ?? 0 })),
      Containers: containers.map((c) => ({ ...c, SizeRw: 0, SizeRootFs: 0 })),
      Volumes: [],
      BuildCache: cache.map((entry) => ({
        ID: entry.key.replace(/^sha256:/, '').slice(0, 25),
        Parents: null,
        Type: 'regular',
        Description: `build step → ${entry.imageId.slice(7, 19)}`,
        InUse: false,
        Shared: false,
        Size: sizeOf.get(entry.imageId) ?? 0,
        CreatedAt: new Date(entry.createdAt).toISOString(),
        LastUsedAt: new Date(entry.lastUsedAt).toISOString(),
        UsageCount: 1,
      })),
    };
  }
}
