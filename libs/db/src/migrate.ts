import { setTimeout as sleep } from 'node:timers/promises';
import { MigrationExecutor, QueryFailedError } from 'typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import type { DatabaseSettings } from '@cargohold/config';
import { createDataSource, SQLITE_BUSY_TIMEOUT_MS } from './data-source.factory';
import type { CreateDataSourceOptions } from './data-source.factory';
import { holdSqliteConnection } from './sqlite-transaction-gate.util';

/**
 * Key of the PostgreSQL session advisory lock held while migrating ("cargo" in ASCII). Every
 * replica takes it before looking at the migrations table, so a fleet booting at once migrates
 * exactly once and the others wait, then find nothing pending.
 */
export const MIGRATION_LOCK_KEY = 0x63_61_72_67_6f;

/** How long a SQLite boot waits for another process that is migrating (or writing) the same file. */
export const SQLITE_MIGRATION_LOCK_WAIT_MS = 5 * 60_000;

/**
 * Applies every pending migration, safely against other processes doing the same at the same
 * time. Returns the names of the migrations this call applied (empty when none were pending).
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const options = ds.options;
  if (options.type === 'postgres') return migratePostgres(ds);
  if (options.type === 'better-sqlite3') return migrateSqlite(ds, options.database);
  throw new Error(`cargohold cannot migrate a ${options.type} database: use PostgreSQL or SQLite (better-sqlite3)`);
}

/** Creates the DataSource, connects, and brings the schema up to date. */
export async function openDatabase(settings: DatabaseSettings, options: CreateDataSourceOptions = {}): Promise<DataSource> {
  const ds = createDataSource(settings, options);
  try {
    await ds.initialize();
  } catch (cause) {
    throw new Error(`cannot open the ${describe(settings)}: ${(cause as Error).message}`, { cause });
  }
  try {
    await runMigrations(ds);
  } catch (cause) {
    await ds.destroy().catch(() => undefined);
    throw new Error(`cannot migrate the ${describe(settings)}: ${(cause as Error).message}`, { cause });
  }
  return ds;
}

async function migratePostgres(ds: DataSource): Promise<string[]> {
  // One dedicated connection: the advisory lock belongs to its session, and the migrations run
  // on it too. If the process dies, the session ends and PostgreSQL releases the lock and rolls
  // back the half-done migration.
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await executePending(ds, runner, 'all');
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

async function migrateSqlite(ds: DataSource, file: string): Promise<string[]> {
  const runner = ds.createQueryRunner();
  // Nothing else in this process may use the connection while it migrates.
  return holdSqliteConnection(ds, runner, () => migrateSqliteHeld(ds, runner, file));
}

async function migrateSqliteHeld(ds: DataSource, runner: QueryRunner, file: string): Promise<string[]> {
  // Foreign keys off while the schema changes (a table rebuild would otherwise cascade deletes).
  // The pragma is ignored inside a transaction, so it goes first.
  await runner.beforeMigration();
  try {
    // The whole run, including reading which migrations are applied, happens under SQLite's
    // write lock: a second process waits here and then sees the first one's result.
    await beginImmediateWithRetry(runner, file);
    try {
      // 'none': the executor must not open its own transaction inside ours.
      const applied = await executePending(ds, runner, 'none');
      const violations: unknown[] = await runner.query('PRAGMA foreign_key_check');
      if (violations.length) {
        throw new Error(`the migrations left ${violations.length} rows that break foreign keys, e.g. ${JSON.stringify(violations[0])}`);
      }
      await runner.query('COMMIT');
      return applied;
    } catch (error) {
      await runner.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await runner.afterMigration();
    await runner.release();
  }
}

async function executePending(ds: DataSource, runner: QueryRunner, transaction: 'all' | 'none'): Promise<string[]> {
  const executor = new MigrationExecutor(ds, runner);
  executor.transaction = transaction;
  const applied = await executor.executePendingMigrations();
  return applied.map((m) => m.name);
}

/**
 * Takes SQLite's write lock without blocking the event loop: better-sqlite3 waits for a busy
 * lock synchronously, which would freeze this process (and deadlock it if the lock holder is
 * another connection in this same process), so the wait is done here as async retries instead.
 */
async function beginImmediateWithRetry(runner: QueryRunner, file: string): Promise<void> {
  await runner.query('PRAGMA busy_timeout = 0');
  try {
    const deadline = Date.now() + SQLITE_MIGRATION_LOCK_WAIT_MS;
    for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
      try {
        await runner.query('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        if (!isSqliteBusy(error)) throw error;
        if (Date.now() >= deadline) {
          throw new Error(
            `the SQLite database ${file} stayed locked by another writer for ${SQLITE_MIGRATION_LOCK_WAIT_MS / 1000} s; ` +
              'find the process holding it (another cargohold service?) and retry',
            { cause: error },
          );
        }
        await sleep(delay + Math.floor(Math.random() * delay));
      }
    }
  } finally {
    await runner.query(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  }
}

function isSqliteBusy(error: unknown): boolean {
  const code = error instanceof QueryFailedError ? (error.driverError as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Names the database for error messages, without a password. */
function describe(settings: DatabaseSettings): string {
  switch (settings.type) {
    case 'sqlite':
      return `SQLite database ${settings.file}`;
    case 'postgres': {
      try {
        const url = new URL(settings.url);
        if (url.password) url.password = '***';
        return `PostgreSQL database ${url.toString()}`;
      } catch {
        return 'PostgreSQL database (DATABASE_URL is not a valid URL)';
      }
    }
  }
}
