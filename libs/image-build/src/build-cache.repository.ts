import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
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

  async lookup(key: string): Promise<string | null> {
    const entry = await this.dataSource.manager.findOne(BuildCacheEntity, { where: { key }, select: ['imageId'] });
    if (!entry) return null;
    if (!(await this.dataSource.manager.existsBy(ImageEntity, { id: entry.imageId }))) return null;
    // Recency for the build-cache prune; a lost update is harmless.
    void this.dataSource.manager.update(BuildCacheEntity, { key }, { lastUsedAt: Date.now() }).catch(() => undefined);
    return entry.imageId;
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
