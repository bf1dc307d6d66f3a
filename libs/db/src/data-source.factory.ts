import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { DataSource } from 'typeorm';
import type { DatabaseSettings } from '@cargohold/config';
import { entities } from './entities';
import { migrations } from './migrations';
import { SqliteTransactionGate } from './sqlite-transaction-gate.util';

export interface CreateDataSourceOptions {
  /** Log every SQL statement. Off by default: failed queries are thrown to the caller, who decides what to log. */
  logging?: boolean;
}

/** Name of the table that records applied migrations. */
export const MIGRATIONS_TABLE = 'migrations';

/**
 * How long a SQLite connection waits for another process's write transaction before failing
 * with SQLITE_BUSY. The gateway and the workers share one file, so writers queue rather than fail.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 30_000;

/**
 * The exact statement TypeORM's SQLite query runner opens a transaction with. A deferred
 * transaction in WAL mode that reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT
 * (the busy timeout does not apply) when another process committed in between; taking the
 * write lock at BEGIN makes concurrent writers wait their turn instead.
 */
const TYPEORM_BEGIN = 'BEGIN TRANSACTION';
const IMMEDIATE_BEGIN = 'BEGIN IMMEDIATE TRANSACTION';

/** Builds (does not connect) the DataSource for the configured database. */
export function createDataSource(settings: DatabaseSettings, options: CreateDataSourceOptions = {}): DataSource {
  const common = {
    entities,
    migrations,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'all' as const,
    synchronize: false,
    migrationsRun: false,
    logging: options.logging ?? false,
  };
  switch (settings.type) {
    case 'postgres':
      return new DataSource({ ...common, type: 'postgres', url: settings.url, applicationName: 'cargohold' });
    case 'sqlite': {
      // TypeORM creates the directory too, but only at initialize(); creating it here keeps a
      // bad path (permissions, a file in the way) an error of this call, with the path in it.
      try {
        mkdirSync(path.dirname(settings.file), { recursive: true });
      } catch (cause) {
        throw new Error(`cannot create the directory for the SQLite database ${settings.file}: ${(cause as Error).message}`, { cause });
      }
      const gate = new SqliteTransactionGate();
      const ds = new DataSource({
        ...common,
        type: 'better-sqlite3',
        database: settings.file,
        // better-sqlite3 passes this to sqlite3_busy_timeout.
        timeout: SQLITE_BUSY_TIMEOUT_MS,
        // WAL: readers never block the writer and the writer never blocks readers.
        enableWAL: true,
        // TypeORM turns foreign_keys on itself after this hook (and off only around migrations).
        prepareDatabase: (db: Database) => {
          db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
          beginImmediately(db);
          gate.connected(db);
        },
      });
      gate.install(ds);
      return ds;
    }
  }
}

/** Makes TypeORM's transactions on this connection take SQLite's write lock when they begin. */
function beginImmediately(db: Database): void {
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => prepare(source === TYPEORM_BEGIN ? IMMEDIATE_BEGIN : source)) as Database['prepare'];
}
