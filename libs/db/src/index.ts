export * from './entities';
export { migrations } from './migrations';
export { createDataSource, MIGRATIONS_TABLE, SQLITE_BUSY_TIMEOUT_MS } from './data-source.factory';
export type { CreateDataSourceOptions } from './data-source.factory';
export { MIGRATION_LOCK_KEY, openDatabase, runMigrations, SQLITE_MIGRATION_LOCK_WAIT_MS } from './migrate';
