import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** What the shared database holds, as the store gauges report it. */
export interface StoreCounts {
  /** Every image row: the IDs `docker image ls -a` lists. */
  images: number;
  /** Images at least one tag names. */
  taggedImages: number;
  /** dockerd's dangling: no tag, and no image built on it (`docker image ls --filter dangling=true`). */
  danglingImages: number;
  /**
   * Layer and config blobs: rows of `blob` not tombstoned by a sweep, without manifests. Most
   * manifests are objects in the store too, but only some have a `blob` row (a sweep adds one to
   * every object it finds without), so counting them would make the number jump at each sweep;
   * they are a few KiB each.
   */
  blobs: number;
  blobBytes: number;
  buildCacheEntries: number;
  containers: number;
}

// One round trip; each part is a COUNT or SUM over an indexed column or a whole (narrow) table.
// The dangling test uses idx_tag_image and idx_image_parent, the manifest test manifest's key.
const NOT_A_MANIFEST = 'NOT EXISTS (SELECT 1 FROM manifest m WHERE m.digest = b.digest)';
const COUNTS_SQL = `SELECT
  (SELECT COUNT(*) FROM image) AS images,
  (SELECT COUNT(DISTINCT image_id) FROM tag WHERE image_id IS NOT NULL) AS tagged_images,
  (SELECT COUNT(*) FROM image i
     WHERE NOT EXISTS (SELECT 1 FROM tag t WHERE t.image_id = i.id)
       AND NOT EXISTS (SELECT 1 FROM image c WHERE c.parent_id = i.id)) AS dangling_images,
  (SELECT COUNT(*) FROM blob b WHERE b.deleting_at IS NULL AND ${NOT_A_MANIFEST}) AS blobs,
  (SELECT COALESCE(SUM(b.size), 0) FROM blob b WHERE b.deleting_at IS NULL AND ${NOT_A_MANIFEST}) AS blob_bytes,
  (SELECT COUNT(*) FROM build_cache) AS build_cache_entries,
  (SELECT COUNT(*) FROM container) AS containers`;

type CountsRow = Record<'images' | 'tagged_images' | 'dangling_images' | 'blobs' | 'blob_bytes' | 'build_cache_entries' | 'containers', string | number>;

/** Counts of images, blobs, build cache entries and containers (SQLite and PostgreSQL). */
@Injectable()
export class StoreCountsRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async counts(): Promise<StoreCounts> {
    const [row] = (await this.dataSource.query(COUNTS_SQL)) as CountsRow[];
    // PostgreSQL answers COUNT and SUM of bigint as strings.
    return {
      images: Number(row.images),
      taggedImages: Number(row.tagged_images),
      danglingImages: Number(row.dangling_images),
      blobs: Number(row.blobs),
      blobBytes: Number(row.blob_bytes),
      buildCacheEntries: Number(row.build_cache_entries),
      containers: Number(row.containers),
    };
  }
}
