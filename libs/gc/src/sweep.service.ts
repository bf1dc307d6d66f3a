import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager, In, IsNull, Not } from 'typeorm';
import { BlobEntity, ManifestEntity, RepositoryBlobEntity } from '@cargohold/db';
import type { SweepJob, SweepResult } from '@cargohold/queue-contracts';
import { BLOB_STORE, type BlobDigest, type BlobListing, type BlobStore } from '@cargohold/storage';

const BATCH = 500;
const DELETE_CONCURRENCY = 16;

interface SweepCounts {
  kept: number;
  deleted: number;
  bytes: number;
}

/**
 * Online mark and sweep of the blob store (ADR 0006). Runs while pushes, pulls, loads and builds
 * go on, without read-only mode:
 *
 * 1. Finish what an interrupted sweep left: tombstoned blobs are deleted from the store, then their rows.
 * 2. Manifests nothing names any more (tag, digest reference, image, repository link, index) and
 *    older than the grace window are deleted, each batch locked before it is judged.
 * 3. Blobs in the store older than the grace window are judged in batches. In one transaction per
 *    batch: every candidate gets a row, the rows are locked, THEN references are looked up (so a
 *    writer that claimed a blob first is seen), and unreferenced ones are tombstoned. Writers claim
 *    blobs the same way (claimBlobs) and refuse a tombstoned one. Only then are objects deleted
 *    from the store, and last their rows and repository links.
 *
 * Whatever interleaving happens, a blob a committed image, manifest or link references, or one
 * written or claimed within the grace window, is never deleted.
 */
@Injectable()
export class SweepService {
  private readonly logger = new Logger(SweepService.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  async sweep(options: SweepJob, signal?: AbortSignal): Promise<SweepResult> {
    const started = performance.now();
    const cutoff = Date.now() - options.graceSeconds * 1000;
    const counts: SweepCounts = { kept: 0, deleted: 0, bytes: 0 };
    if (!options.dryRun) await this.finishTombstones(signal);
    // A dry run deletes no manifest rows: what it would delete must not count as a reference.
    const deadManifests = options.dryRun ? new Set(await this.deadManifests(this.dataSource.manager, cutoff)) : new Set<string>();
    const manifestsDeleted = options.dryRun ? deadManifests.size : await this.sweepManifests(cutoff, false);
    let scanned = 0;
    let batch: BlobListing[] = [];
    for await (const blob of this.blobs.list()) {
      signal?.throwIfAborted();
      scanned += 1;
      if (blob.modified.getTime() >= cutoff) {
        counts.kept += 1;
        continue;
      }
      batch.push(blob);
      if (batch.length === BATCH) {
        await this.sweepBatch(batch, cutoff, options.dryRun, counts, deadManifests, signal);
        batch = [];
      }
    }
    if (batch.length) await this.sweepBatch(batch, cutoff, options.dryRun, counts, deadManifests, signal);
    const result: SweepResult = {
      dryRun: options.dryRun,
      blobsScanned: scanned,
      blobsKept: counts.kept,
      blobsDeleted: counts.deleted,
      bytesFreed: counts.bytes,
      manifestsDeleted,
      durationMs: Math.round(performance.now() - started),
    };
    this.logger.log(
      `sweep${options.dryRun ? ' (dry run)' : ''}: ${result.blobsDeleted} of ${result.blobsScanned} blobs deleted (${result.bytesFreed} bytes), ${result.manifestsDeleted} manifests, ${result.durationMs} ms`,
    );
    return result;
  }

  private lockMode(em: EntityManager): boolean {
    return em.connection.options.type === 'postgres';
  }

  /** Blobs a sweep tombstoned but did not finish (it was killed): delete them now. */
  private async finishTombstones(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const rows = await this.dataSource.manager.find(BlobEntity, { where: { deletingAt: Not(IsNull()) }, select: ['digest'], take: BATCH });
      if (!rows.length) return;
      signal?.throwIfAborted();
      await this.deleteObjects(rows.map((r) => r.digest));
    }
  }

  private async deleteObjects(digests: string[]): Promise<void> {
    // A few deletes in flight: one at a time, an S3 round trip (or an unlink) per blob dominated.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < digests.length) await this.blobs.delete(digests[next++] as BlobDigest);
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, digests.length) }, worker));
    await this.dataSource.transaction(async (em) => {
      await em.delete(RepositoryBlobEntity, { blobDigest: In(digests) });
      await em.delete(BlobEntity, { digest: In(digests), deletingAt: Not(IsNull()) });
    });
  }

  /**
   * Which of `digests` something still references: manifests (their config and layers), images
   * (configs), image layers, stored manifests. References from `ignoring` manifests (those a dry
   * run would have deleted) do not count.
   */
  private async referenced(em: EntityManager, digests: string[], ignoring: ReadonlySet<string>): Promise<Set<string>> {
    const live = new Set<string>();
    const queries = [
      'SELECT target_digest AS d, manifest_digest AS m FROM manifest_ref WHERE target_digest IN (%)',
      'SELECT id AS d, NULL AS m FROM image WHERE id IN (%)',
      'SELECT DISTINCT blob_digest AS d, NULL AS m FROM image_layer WHERE blob_digest IN (%)',
      'SELECT digest AS d, digest AS m FROM manifest WHERE digest IN (%)',
    ];
    const postgres = em.connection.options.type === 'postgres';
    const placeholders = digests.map((_, i) => (postgres ? `$${i + 1}` : '?')).join(', ');
    for (const sql of queries) {
      const rows = (await em.query(sql.replace('%', placeholders), digests)) as Array<{ d: string; m: string | null }>;
      for (const row of rows) if (row.m === null || !ignoring.has(row.m)) live.add(row.d);
    }
    return live;
  }

  private async sweepBatch(batch: BlobListing[], cutoff: number, dryRun: boolean, counts: SweepCounts, deadManifests: ReadonlySet<string>, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const digests = batch.map((b) => b.digest);
    const size = new Map(batch.map((b) => [b.digest as string, b.size]));
    const chosen = await this.dataSource.transaction(async (em) => {
      if (!dryRun) {
        // Orphans (objects without a row: a failed load, an upload never linked) get one, so they can be locked too.
        await em
          .createQueryBuilder()
          .insert()
          .into(BlobEntity)
          .values(batch.map((b) => ({ digest: b.digest, size: b.size, createdAt: 0, deletingAt: null })))
          .orIgnore()
          .execute();
      }
      // Lock first, judge after: a writer that claimed a blob before us has committed its references by now.
      const query = em.createQueryBuilder(BlobEntity, 'b').select(['b.digest', 'b.createdAt', 'b.deletingAt']).where({ digest: In(digests) });
      const rows = await (this.lockMode(em) && !dryRun ? query.setLock('pessimistic_write') : query).getMany();
      const young = new Set(rows.filter((r) => r.createdAt >= cutoff).map((r) => r.digest));
      const live = await this.referenced(em, digests, deadManifests);
      const candidates = digests.filter((d) => !live.has(d) && !young.has(d));
      if (!dryRun && candidates.length) await em.update(BlobEntity, { digest: In(candidates), deletingAt: IsNull() }, { deletingAt: Date.now() });
      return candidates;
    });
    counts.kept += digests.length - chosen.length;
    counts.deleted += chosen.length;
    for (const digest of chosen) counts.bytes += size.get(digest) ?? 0;
    if (!dryRun && chosen.length) await this.deleteObjects(chosen);
  }

  /** Manifest rows nothing names, older than the cutoff; an index's children follow once it is gone. */
  private async sweepManifests(cutoff: number, dryRun: boolean): Promise<number> {
    let total = 0;
    for (;;) {
      const dead = await this.deadManifests(this.dataSource.manager, cutoff);
      if (!dead.length) return total;
      if (dryRun) return total + dead.length;
      let removed = 0;
      for (let i = 0; i < dead.length; i += BATCH) {
        const chunk = dead.slice(i, i + BATCH);
        removed += await this.dataSource.transaction(async (em) => {
          const query = em.createQueryBuilder(ManifestEntity, 'm').select('m.digest').where({ digest: In(chunk) });
          await (this.lockMode(em) ? query.setLock('pessimistic_write') : query).getMany();
          // Judged again after the lock: a writer may have named one since.
          const still = new Set(await this.deadManifests(em, cutoff, chunk));
          const gone = chunk.filter((d) => still.has(d));
          if (gone.length) await em.delete(ManifestEntity, { digest: In(gone) });
          return gone.length;
        });
      }
      total += removed;
      if (removed === 0) return total;
    }
  }

  private async deadManifests(em: EntityManager, cutoff: number, among?: string[]): Promise<string[]> {
    const qb = em
      .createQueryBuilder(ManifestEntity, 'm')
      .select('m.digest', 'digest')
      .where('m.created_at < :cutoff', { cutoff })
      .andWhere('NOT EXISTS (SELECT 1 FROM tag t WHERE t.manifest_digest = m.digest)')
      .andWhere('NOT EXISTS (SELECT 1 FROM repo_digest d WHERE d.digest = m.digest)')
      .andWhere('NOT EXISTS (SELECT 1 FROM image i WHERE i.manifest_digest = m.digest)')
      .andWhere('NOT EXISTS (SELECT 1 FROM repository_manifest l WHERE l.manifest_digest = m.digest)')
      .andWhere("NOT EXISTS (SELECT 1 FROM manifest_ref r WHERE r.kind = 'manifest' AND r.target_digest = m.digest)")
      .limit(10_000);
    if (among) qb.andWhere('m.digest IN (:...among)', { among });
    return (await qb.getRawMany<{ digest: string }>()).map((r) => r.digest);
  }
}
