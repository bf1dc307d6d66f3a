import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// Test-only use of the testing lib, which the data-access layer rule does not foresee.
import { createTestSqliteFile } from '@cargohold/testing';
import { BlobEntity } from './entities';
import { openDatabase } from './migrate';

const blob = (digest: string, size = 1) => ({ digest, size, createdAt: 1 });
const digests = async (ds: DataSource) => (await ds.manager.find(BlobEntity, { order: { digest: 'ASC' } })).map((b) => b.digest);

// Each test starts flows that run side by side in one process, as concurrent requests do.
describe('SQLite transactions in one process', () => {
  let tmp: ReturnType<typeof createTestSqliteFile>;
  let ds: DataSource;

  beforeEach(async () => {
    tmp = createTestSqliteFile();
    ds = await openDatabase({ type: 'sqlite', file: tmp.file });
  });

  afterEach(async () => {
    if (ds?.isInitialized) await ds.destroy();
    tmp?.cleanup();
  });

  it('keeps concurrent transactions apart: one rolls back, the other commits', async () => {
    const failing = ds.transaction(async (em) => {
      await em.insert(BlobEntity, blob('a'));
      await sleep(50);
      throw new Error('a fails');
    });
    const committing = ds.transaction(async (em) => {
      await em.insert(BlobEntity, blob('b'));
    });

    await expect(failing).rejects.toThrow('a fails');
    await expect(committing).resolves.toBeUndefined();
    expect(await digests(ds)).toEqual(['b']);
  });

  it('never shows another request a transaction’s uncommitted rows', async () => {
    let inserted!: () => void;
    const insertedSignal = new Promise<void>((resolve) => (inserted = resolve));
    const failing = ds.transaction(async (em) => {
      await em.insert(BlobEntity, blob('uncommitted'));
      inserted();
      await sleep(50);
      throw new Error('rolled back');
    });
    await insertedSignal;

    const seen = await ds.manager.findOneBy(BlobEntity, { digest: 'uncommitted' });

    expect(seen).toBeNull();
    await expect(failing).rejects.toThrow('rolled back');
  });

  it('keeps another request’s save when a concurrent transaction rolls back', async () => {
    let inserted!: () => void;
    const insertedSignal = new Promise<void>((resolve) => (inserted = resolve));
    const failing = ds.transaction(async (em) => {
      await em.insert(BlobEntity, blob('doomed'));
      inserted();
      await sleep(50);
      throw new Error('rolled back');
    });
    await insertedSignal;

    await ds.manager.save(BlobEntity, blob('kept'));

    await expect(failing).rejects.toThrow('rolled back');
    expect(await digests(ds)).toEqual(['kept']);
  });

  it('loses no update when many read-modify-write transactions run at once', async () => {
    await ds.manager.insert(BlobEntity, blob('counter', 0));
    await Promise.all(
      Array.from({ length: 20 }, () =>
        ds.transaction(async (em) => {
          const row = await em.findOneByOrFail(BlobEntity, { digest: 'counter' });
          await sleep(1);
          await em.update(BlobEntity, { digest: 'counter' }, { size: row.size + 1 });
        }),
      ),
    );
    expect((await ds.manager.findOneByOrFail(BlobEntity, { digest: 'counter' })).size).toBe(20);
  });

  it('still nests transactions opened on the callback’s EntityManager as savepoints', async () => {
    await ds.transaction(async (em) => {
      await em.insert(BlobEntity, blob('outer'));
      await expect(
        em.transaction(async (inner) => {
          await inner.insert(BlobEntity, blob('inner'));
          throw new Error('inner fails');
        }),
      ).rejects.toThrow('inner fails');
    });
    expect(await digests(ds)).toEqual(['outer']);
  });

  it('nests, rather than deadlocks, a DataSource transaction opened inside a transaction callback', async () => {
    const outer = ds.transaction(async (em) => {
      await em.insert(BlobEntity, blob('outer'));
      await ds.transaction(async (inner) => inner.insert(BlobEntity, blob('inner')));
      await ds.manager.save(BlobEntity, blob('via-manager'));
      throw new Error('outer fails');
    });
    const deadlocked = sleep(5_000).then(() => {
      throw new Error('deadlocked: the inner work waited for the transaction it runs in');
    });
    await expect(Promise.race([outer, deadlocked])).rejects.toThrow('outer fails');
    expect(await digests(ds)).toEqual([]);
  });

  it('lets the callback’s EntityManager work from callbacks scheduled outside the transaction', async () => {
    // A timer armed before the transaction runs in the arming flow, not the transaction's
    // (as stream and event handlers may): the EntityManager alone must let it through.
    let work!: () => Promise<void>;
    const timerDone = new Promise<void>((resolve, reject) => setTimeout(() => work().then(resolve, reject), 20));
    await ds.transaction(async (em) => {
      work = () => em.insert(BlobEntity, blob('from-timer')).then(() => undefined);
      await timerDone;
    });
    expect(await digests(ds)).toEqual(['from-timer']);
  });
});
