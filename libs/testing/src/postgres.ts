import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/** The server's maintenance database on this machine's PostgreSQL (trust auth). */
const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  /** Terminates every connection to the database and drops it. Safe to call twice. */
  drop(): Promise<void>;
}

export interface TestSqliteFile {
  /** Path of a database file that does not exist yet, in a directory that does not exist yet. */
  file: string;
  /** Removes the file, its WAL and shared-memory files, and the temporary directory. */
  cleanup(): void;
}

/** The admin connection: `CARGOHOLD_TEST_PG_URL` when set, else postgres@127.0.0.1:5432. */
export function testPostgresAdminUrl(): string {
  return process.env.CARGOHOLD_TEST_PG_URL || DEFAULT_ADMIN_URL;
}

/**
 * Creates a uniquely named database, so tests never share state with other runs or assume the
 * server is theirs alone.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = testPostgresAdminUrl();
  const name = `cargohold_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      await withAdmin(adminUrl, async (admin) => {
        // A pool a test forgot to close must not keep the database alive.
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      });
      dropped = true;
    },
  };
}

/** A fresh SQLite database path under the system temp directory. */
export function createTestSqliteFile(): TestSqliteFile {
  const dir = mkdtempSync(path.join(tmpdir(), 'cargohold-sqlite-'));
  return {
    file: path.join(dir, 'data', 'cargohold.sqlite'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function withAdmin<T>(adminUrl: string, work: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (cause) {
    throw new Error(
      `cannot reach PostgreSQL for tests at ${redact(adminUrl)} (${(cause as Error).message}); start it or set CARGOHOLD_TEST_PG_URL`,
      { cause },
    );
  }
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(CARGOHOLD_TEST_PG_URL is not a valid URL)';
  }
}

/** Database settings as openDatabase takes them, and how to throw the database away. */
export interface OpenedTestDatabase {
  settings: { type: 'sqlite'; file: string } | { type: 'postgres'; url: string };
  cleanup(): Promise<void>;
}

/** Both production dialects, for `describe.each`: a fresh SQLite file, a fresh PostgreSQL database. */
export const TEST_DIALECTS: ReadonlyArray<{ name: 'sqlite' | 'postgres'; open(): Promise<OpenedTestDatabase> }> = [
  {
    name: 'sqlite',
    open: async () => {
      const f = createTestSqliteFile();
      return { settings: { type: 'sqlite', file: f.file }, cleanup: async () => f.cleanup() };
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const db = await createTestDatabase();
      return { settings: { type: 'postgres', url: db.url }, cleanup: db.drop };
    },
  },
];
