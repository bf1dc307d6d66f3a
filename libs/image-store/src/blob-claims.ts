import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import { BlobEntity } from '@cargohold/db';
import type { BlobDigest, BlobStore } from '@cargohold/storage';

/**
 * A blob a writer wanted to reference is being deleted by the gc sweep, or is gone. The writer's
 * transaction is refused and nothing is committed; a retry writes the blob again.
 */
export class BlobUnavailableError extends Error {
  constructor(
    readonly digest: string,
    reason: 'deleting' | 'missing',
  ) {
    super(reason === 'deleting' ? `blob ${digest} is being deleted by the garbage collector; retry` : `blob ${digest} is not in the blob store`);
    this.name = 'BlobUnavailableError';
  }
}

/**
 * The writer's half of the sweep protocol (ADR 0006), called inside the transaction that adds
 * references to blobs, before it adds them: every blob gets a row (so the sweep sees it), the rows
 * are locked (PostgreSQL; SQLite serialises write transactions anyway), none may carry the
 * sweep's tombstone, and each object must still be in the store. Either this transaction commits
 * first and the sweep, which locks the same rows before it looks for references, sees the new
 * references; or the sweep marked the blob first and this throws.
 */
export async function claimBlobs(em: EntityManager, store: Pick<BlobStore, 'stat'>, blobs: ReadonlyArray<{ digest: string; size: number }>): Promise<void> {
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  if (!unique.length) return;
  const now = Date.now();
  const postgres = em.connection.options.type === 'postgres';
  for (let i = 0; i < unique.length; i += 200) {
    const chunk = unique.slice(i, i + 200);
    await em
      .createQueryBuilder()
      .insert()
      .into(BlobEntity)
      .values(chunk.map((b) => ({ digest: b.digest, size: b.size, createdAt: now, deletingAt: null })))
      .orIgnore()
      .execute();
    const query = em.createQueryBuilder(BlobEntity, 'b').select(['b.digest', 'b.deletingAt']).where({ digest: In(chunk.map((b) => b.digest)) });
    const rows = await (postgres ? query.setLock('pessimistic_write') : query).getMany();
    for (const row of rows) if (row.deletingAt !== null) throw new BlobUnavailableError(row.digest, 'deleting');
  }
  for (const blob of unique) {
    if (!(await store.stat(blob.digest as BlobDigest))) throw new BlobUnavailableError(blob.digest, 'missing');
  }
}
