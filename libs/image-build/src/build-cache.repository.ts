import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { BuildCacheEntity, ImageEntity } from '@cargohold/db';

/** What a build step's cache key is made of (see stepCacheKey). */
export interface StepKeyParts {
  /** The image the step starts from (`sha256:…`), or `scratch`. */
  parent: string;
  /** The instruction after variable expansion, as the step will run it. */
  instruction: string;
  /** Build args the step can see (RUN sees them as environment), sorted. */
  args: Array<[string, string]>;
  /** COPY/ADD: checksum of the sources' content and metadata (never their mtimes). */
  sources?: string;
  /** `os/arch[/variant]` the build targets. */
  platform: string;
}

/** sha256 over a canonical JSON of the parts: equal inputs, equal key, on every builder. */
export function stepCacheKey(parts: StepKeyParts): string {
  const canonical = JSON.stringify([parts.parent, parts.instruction, parts.args, parts.sources ?? null, parts.platform]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/**
 * The build cache in the shared database: any builder replica finds what any other one built,
 * with no export or import step. An entry is only a hit while its image still exists (a prune
 * may have removed it), so a stale entry costs a rebuild, never a broken image.
 */
@Injectable()
export class BuildCacheRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The image cached under `key`, if the entry and its image both still exist. */
  async lookup(key: string): Promise<string | null> {
    const entry = await this.dataSource.manager
      .createQueryBuilder(BuildCacheEntity, 'cache')
      .innerJoin(ImageEntity, 'image', 'image.id = cache.image_id')
      .select('cache.image_id', 'imageId')
      .where('cache.key = :key', { key })
      .getRawOne<{ imageId: string }>();
    return entry?.imageId ?? null;
  }

  /** Marks entries as used now, for the build-cache prune's recency; once per build, not per step. */
  async touch(keys: readonly string[]): Promise<void> {
    if (!keys.length) return;
    await this.dataSource.manager.update(BuildCacheEntity, { key: In([...keys]) }, { lastUsedAt: Date.now() });
  }

  async record(key: string, imageId: string): Promise<void> {
    const now = Date.now();
    await this.dataSource.manager
      .createQueryBuilder()
      .insert()
      .into(BuildCacheEntity)
      .values({ key, imageId, createdAt: now, lastUsedAt: now })
      .orUpdate(['image_id', 'last_used_at'], ['key'])
      .execute();
  }
}
