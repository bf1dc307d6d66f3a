import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { QueryFailedError } from 'typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSettings } from '@cargohold/config';
// Test-only use of the testing lib, which the data-access layer rule does not foresee.
import { createTestDatabase, createTestSqliteFile } from '@cargohold/testing';
import { SQLITE_BUSY_TIMEOUT_MS, MIGRATIONS_TABLE } from './data-source.factory';
import {
  BlobEntity,
  ImageEntity,
  ImageLayerEntity,
  ManifestEntity,
  ManifestRefEntity,
  RepoDigestEntity,
  RepositoryEntity,
  TagEntity,
} from './entities';
import { openDatabase, runMigrations } from './migrate';
import { migrations } from './migrations';

interface Fixture {
  settings: DatabaseSettings;
  dispose(): Promise<void>;
}

const dialects: { name: DatabaseSettings['type']; fresh(): Promise<Fixture> }[] = [
  {
    name: 'postgres',
    fresh: async () => {
      const db = await createTestDatabase();
      return { settings: { type: 'postgres', url: db.url }, dispose: () => db.drop() };
    },
  },
  {
    name: 'sqlite',
    fresh: async () => {
      const tmp = createTestSqliteFile();
      return { settings: { type: 'sqlite', file: tmp.file }, dispose: async () => tmp.cleanup() };
    },
  },
];

const migrationNames = migrations.map((M) => new M().name);
// Above 2^32, so a 32-bit column or a string coming back would show.
const BIG = 5_368_709_120;
const digestOf = (n: number | string) => `sha256:${String(n).padStart(64, '0')}`;

async function appliedMigrations(ds: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await ds.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`);
  return rows.map((r) => r.name);
}

/** SQL the schema builder would run to make the database match the entities: must be none. */
async function pendingSchemaChanges(ds: DataSource): Promise<string[]> {
  const sql = await ds.driver.createSchemaBuilder().log();
  return sql.upQueries.map((q) => q.query);
}

function image(id: string, extra: Partial<ImageEntity> = {}): ImageEntity {
  return Object.assign(new ImageEntity(), {
    id,
    config: '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
    labels: '{"org.example":"yes"}',
    size: BIG,
    created: 1_700_000_000_123,
    parentId: null,
    os: 'linux',
    architecture: 'arm64',
    variant: 'v8',
    manifestDigest: digestOf('m'),
    storedAt: 1_800_000_000_456,
    ...extra,
  });
}

function layer(imageId: string, position: number): ImageLayerEntity {
  return Object.assign(new ImageLayerEntity(), {
    imageId,
    position,
    diffId: digestOf(`d${position}`),
    blobDigest: digestOf(`b${position}`),
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    blobSize: BIG + position,
    contentSize: BIG * 2 + position,
    verified: true,
  });
}

async function repository(em: EntityManager, name: string): Promise<RepositoryEntity> {
  return em.save(Object.assign(new RepositoryEntity(), { name, createdAt: 1_800_000_000_000 }));
}

function tag(repositoryId: number, name: string, imageId: string): TagEntity {
  return Object.assign(new TagEntity(), { repositoryId, name, imageId, manifestDigest: digestOf('m'), updatedAt: 1_800_000_000_001 });
}

function repoDigest(repositoryId: number, digest: string, imageId: string): RepoDigestEntity {
  return Object.assign(new RepoDigestEntity(), { repositoryId, digest, imageId, createdAt: 1_800_000_000_002 });
}

describe.each(dialects)('metadata schema on $name', ({ fresh }) => {
  let fixture: Fixture;
  let ds: DataSource;

  beforeAll(async () => {
    fixture = await fresh();
    ds = await openDatabase(fixture.settings);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await fixture?.dispose();
  });

  it('applies every migration once and leaves nothing between entities and migrations', async () => {
    expect(await appliedMigrations(ds)).toEqual(migrationNames);
    expect(await pendingSchemaChanges(ds)).toEqual([]);
  });

  it('applies nothing when migrations run again', async () => {
    expect(await runMigrations(ds)).toEqual([]);
    expect(await appliedMigrations(ds)).toEqual(migrationNames);
  });

  it('round-trips every entity, with bigint columns as numbers', async () => {
    const em = ds.manager;
    const blob = Object.assign(new BlobEntity(), { digest: digestOf('blob'), size: BIG, createdAt: 1_800_000_000_789 });
    const manifest = Object.assign(new ManifestEntity(), {
      digest: digestOf('manifest'),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 1234,
      content: '{"schemaVersion":2}',
      configDigest: digestOf('config'),
      subjectDigest: null,
      artifactType: null,
      createdAt: 1_800_000_000_001,
    });
    const ref = Object.assign(new ManifestRefEntity(), {
      manifestDigest: manifest.digest,
      position: 0,
      kind: 'layer' as const,
      targetDigest: blob.digest,
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      size: BIG,
      platform: '{"os":"linux","architecture":"amd64"}',
    });
    const img = image(digestOf('roundtrip'), { parentId: digestOf('parent') });
    await em.save(blob);
    await em.save(manifest);
    await em.save(ref);
    await em.save(img);
    await em.save([layer(img.id, 0), layer(img.id, 1)]);
    const repo = await repository(em, 'docker.io/library/roundtrip');
    await em.save(tag(repo.id, 'latest', img.id));
    await em.save(repoDigest(repo.id, manifest.digest, img.id));

    expect(await em.findOneByOrFail(BlobEntity, { digest: blob.digest })).toEqual(blob);
    expect(await em.findOneByOrFail(ManifestEntity, { digest: manifest.digest })).toEqual(manifest);
    expect(await em.findOneByOrFail(ManifestRefEntity, { manifestDigest: manifest.digest, position: 0 })).toEqual(ref);
    const loaded = await em.findOneByOrFail(ImageEntity, { id: img.id });
    expect(loaded).toEqual(img);
    expect(typeof loaded.size).toBe('number');
    expect(await em.find(ImageLayerEntity, { where: { imageId: img.id }, order: { position: 'ASC' } })).toEqual([
      layer(img.id, 0),
      layer(img.id, 1),
    ]);
    expect(await em.findOneByOrFail(RepositoryEntity, { name: 'docker.io/library/roundtrip' })).toEqual(repo);
    expect(typeof repo.id).toBe('number');
    expect(await em.findOneByOrFail(TagEntity, { repositoryId: repo.id, name: 'latest' })).toEqual(tag(repo.id, 'latest', img.id));
    expect(await em.findOneByOrFail(RepoDigestEntity, { repositoryId: repo.id, digest: manifest.digest })).toEqual(
      repoDigest(repo.id, manifest.digest, img.id),
    );
  });

  it('marks layer rows a registry push wrote as unverified when the verified column arrives', async () => {
    // Back to the schema before VerifiedLayers, with rows as each writer left them.
    const last = migrations[migrations.length - 1];
    expect(new last().name).toBe('VerifiedLayers1796300000000');
    await ds.undoLastMigration({ transaction: 'all' });
    const img = image(digestOf('before-verified'));
    await ds.manager.save(img);
    const insert = (position: number, blobSize: number, contentSize: number) =>
      ds.query(
        ds.options.type === 'postgres'
          ? 'INSERT INTO image_layer (image_id, position, diff_id, blob_digest, media_type, blob_size, content_size) VALUES ($1, $2, $3, $4, $5, $6, $7)'
          : 'INSERT INTO image_layer (image_id, position, diff_id, blob_digest, media_type, blob_size, content_size) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [img.id, position, digestOf(`bv-d${position}`), digestOf(`bv-b${position}`), 'application/vnd.oci.image.layer.v1.tar+gzip', blobSize, contentSize],
      );
    await insert(0, 1000, 2500); // pulled: unpacked size read from the gzip layer
    await insert(1, 10_240, 9000); // loaded: plain tar, headers and end blocks count in the blob only
    await insert(2, 777, 777); // pushed: the compressed size stood in for the content size

    expect(await runMigrations(ds)).toEqual(['VerifiedLayers1796300000000']);

    const rows = await ds.manager.find(ImageLayerEntity, { where: { imageId: img.id }, order: { position: 'ASC' } });
    expect(rows.map((r) => r.verified)).toEqual([true, true, false]);
    expect(await pendingSchemaChanges(ds)).toEqual([]);
  });

  it('fills column defaults for labels, os and architecture', async () => {
    const id = digestOf('defaults');
    await ds
      .createQueryBuilder()
      .insert()
      .into(ImageEntity)
      .values({ id, config: '{}', size: 1, created: 0, manifestDigest: digestOf('m'), storedAt: 1 })
      .execute();
    expect(await ds.manager.findOneByOrFail(ImageEntity, { id })).toMatchObject({ labels: '{}', os: 'linux', architecture: 'amd64', variant: null });
  });

  it('keeps repository names unique', async () => {
    await repository(ds.manager, 'docker.io/library/unique');
    await expect(ds.manager.insert(RepositoryEntity, { name: 'docker.io/library/unique', createdAt: 1 })).rejects.toBeInstanceOf(
      QueryFailedError,
    );
  });

  it('deletes an image’s layers with the image', async () => {
    const img = image(digestOf('cascade'));
    await ds.manager.save(img);
    await ds.manager.save([layer(img.id, 0), layer(img.id, 1), layer(img.id, 2)]);
    expect(await ds.manager.countBy(ImageLayerEntity, { imageId: img.id })).toBe(3);

    await ds.manager.delete(ImageEntity, { id: img.id });

    expect(await ds.manager.countBy(ImageLayerEntity, { imageId: img.id })).toBe(0);
  });

  it('refuses to delete an image that a tag or a repo digest still names', async () => {
    const tagged = image(digestOf('tagged'));
    const pinned = image(digestOf('pinned'));
    await ds.manager.save([tagged, pinned]);
    const repo = await repository(ds.manager, 'docker.io/library/restrict');
    await ds.manager.save(tag(repo.id, 'v1', tagged.id));
    await ds.manager.save(repoDigest(repo.id, digestOf('pinned-manifest'), pinned.id));

    await expect(ds.manager.delete(ImageEntity, { id: tagged.id })).rejects.toBeInstanceOf(QueryFailedError);
    await expect(ds.manager.delete(ImageEntity, { id: pinned.id })).rejects.toBeInstanceOf(QueryFailedError);
    expect(await ds.manager.countBy(ImageEntity, { id: tagged.id })).toBe(1);
    expect(await ds.manager.countBy(ImageEntity, { id: pinned.id })).toBe(1);

    // Once the references are gone, so may the image be.
    await ds.manager.delete(TagEntity, { repositoryId: repo.id });
    await ds.manager.delete(RepoDigestEntity, { repositoryId: repo.id });
    await ds.manager.delete(ImageEntity, { id: tagged.id });
    await ds.manager.delete(ImageEntity, { id: pinned.id });
    expect(await ds.manager.countBy(ImageEntity, { id: tagged.id })).toBe(0);
  });

  it('refuses a tag or repo digest that names a missing image or repository', async () => {
    const repo = await repository(ds.manager, 'docker.io/library/dangling');
    await expect(ds.manager.insert(TagEntity, tag(repo.id, 'x', digestOf('missing')))).rejects.toBeInstanceOf(QueryFailedError);
    const img = image(digestOf('dangling'));
    await ds.manager.save(img);
    await expect(ds.manager.insert(RepoDigestEntity, repoDigest(repo.id + 1000, digestOf('x'), img.id))).rejects.toBeInstanceOf(
      QueryFailedError,
    );
  });

  it('deletes tags and repo digests with their repository, but not the images', async () => {
    const img = image(digestOf('repo-cascade'));
    await ds.manager.save(img);
    const repo = await repository(ds.manager, 'docker.io/library/cascade');
    await ds.manager.save([tag(repo.id, 'a', img.id), tag(repo.id, 'b', img.id)]);
    await ds.manager.save(repoDigest(repo.id, digestOf('repo-cascade-manifest'), img.id));

    await ds.manager.delete(RepositoryEntity, { id: repo.id });

    expect(await ds.manager.countBy(TagEntity, { repositoryId: repo.id })).toBe(0);
    expect(await ds.manager.countBy(RepoDigestEntity, { repositoryId: repo.id })).toBe(0);
    expect(await ds.manager.countBy(ImageEntity, { id: img.id })).toBe(1);
  });

  it('deletes a manifest’s refs with the manifest', async () => {
    const digest = digestOf('index');
    await ds.manager.insert(ManifestEntity, {
      digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      size: 2,
      content: '{}',
      configDigest: null,
      subjectDigest: null,
      artifactType: null,
      createdAt: 1,
    });
    await ds.manager.insert(
      ManifestRefEntity,
      [0, 1].map((position) => ({
        manifestDigest: digest,
        position,
        kind: 'manifest' as const,
        targetDigest: digestOf(`child${position}`),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 10,
        platform: null,
      })),
    );

    await ds.manager.delete(ManifestEntity, { digest });

    expect(await ds.manager.countBy(ManifestRefEntity, { manifestDigest: digest })).toBe(0);
  });
});

describe.each(dialects)('concurrent boots on $name', ({ fresh }) => {
  let fixture: Fixture;
  const opened: DataSource[] = [];

  beforeAll(async () => {
    fixture = await fresh();
  });

  afterAll(async () => {
    await Promise.all(opened.map((ds) => ds.destroy()));
    await fixture?.dispose();
  });

  it('lets 4 services open a fresh database at once and migrates it exactly once', async () => {
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => openDatabase(fixture.settings)));
    for (const r of results) if (r.status === 'fulfilled') opened.push(r.value);

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    for (const ds of opened) expect(await appliedMigrations(ds)).toEqual(migrationNames);
    expect(await pendingSchemaChanges(opened[0])).toEqual([]);
  });
});

describe.each(dialects)('concurrent boots in separate processes on $name', ({ fresh }) => {
  let fixture: Fixture;

  beforeAll(async () => {
    fixture = await fresh();
  });

  afterAll(async () => {
    await fixture?.dispose();
  });

  // In one process, better-sqlite3's synchronous calls run each boot to completion in turn;
  // only separate processes really race for the schema.
  it('migrates a fresh database exactly once when 4 processes boot together', async () => {
    const boots = await Promise.all(Array.from({ length: 4 }, () => startBootProcess(fixture.settings)));
    for (const boot of boots) boot.go();
    const applied = await Promise.all(boots.map((boot) => boot.applied));

    expect(applied.filter((names) => names.length > 0)).toEqual([migrationNames]);
    const ds = await openDatabase(fixture.settings);
    try {
      expect(await appliedMigrations(ds)).toEqual(migrationNames);
      expect(await pendingSchemaChanges(ds)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });
});

describe('SQLite connection settings', () => {
  let tmp: ReturnType<typeof createTestSqliteFile>;
  let ds: DataSource;

  beforeAll(async () => {
    tmp = createTestSqliteFile();
    ds = await openDatabase({ type: 'sqlite', file: tmp.file });
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    tmp?.cleanup();
  });

  it('creates the file and its directory, in WAL mode, with foreign keys on and a long busy timeout', async () => {
    expect(existsSync(tmp.file)).toBe(true);
    expect(await ds.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await ds.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
    const [{ timeout }] = (await ds.query('PRAGMA busy_timeout')) as { timeout: number }[];
    expect(timeout).toBe(SQLITE_BUSY_TIMEOUT_MS);
    expect(timeout).toBeGreaterThanOrEqual(10_000);
  });

  it('takes the write lock when a transaction begins, so read-then-write transactions cannot hit a stale snapshot', async () => {
    const other = new Database(tmp.file, { timeout: 0 });
    try {
      await ds.transaction(async (em) => {
        await em.find(BlobEntity);
        // A deferred transaction would hold no write lock yet after a read.
        expect(() => other.exec('BEGIN IMMEDIATE')).toThrow(/locked|busy/i);
      });
      other.exec('BEGIN IMMEDIATE');
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
  });

  it('makes a writer wait for another process’s write transaction instead of failing', async () => {
    const holdMs = 1500;
    const child = await holdWriteLock(tmp.file, holdMs);
    const started = Date.now();
    await ds.manager.insert(BlobEntity, { digest: digestOf('waited'), size: 1, createdAt: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(holdMs - 500);
    await child.exited;
    expect(await ds.manager.countBy(BlobEntity, { digest: digestOf('waited') })).toBe(1);
  });

  it('lets a booting process wait for another process’s write transaction before migrating', async () => {
    const other = createTestSqliteFile();
    try {
      const child = await holdWriteLock(other.file, 1500);
      const late = await openDatabase({ type: 'sqlite', file: other.file });
      try {
        expect(await appliedMigrations(late)).toEqual(migrationNames);
      } finally {
        await late.destroy();
      }
      await child.exited;
    } finally {
      other.cleanup();
    }
  });
});

/**
 * Starts a separate node process that opens `file` (creating it), takes SQLite's write lock and
 * holds it for `ms`. Resolves once the lock is held.
 */
async function holdWriteLock(file: string, ms: number): Promise<{ exited: Promise<void> }> {
  const script = `
    const fs = require('node:fs'); const path = require('node:path');
    const Database = require('better-sqlite3');
    const file = process.argv[1];
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));
  `;
  const child = spawn(process.execPath, ['-e', script, file, String(ms)], { cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`lock holder exited ${code}: ${stderr}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve();
    });
    exited.then(() => reject(new Error('lock holder exited before taking the lock')), reject);
  });
  return { exited };
}

/**
 * Starts a node process that loads this lib from source (SWC require hook), connects, says
 * "ready", and on go() runs the migrations. `applied` resolves to the migrations it applied.
 */
async function startBootProcess(settings: DatabaseSettings): Promise<{ go(): void; applied: Promise<string[]> }> {
  const script = `
    const fs = require('node:fs');
    const { transformSync } = require('@swc/core');
    require.extensions['.ts'] = (module, filename) => {
      const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
        filename, module: { type: 'commonjs' },
        jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' },
      });
      module._compile(code, filename);
    };
    const { createDataSource, runMigrations } = require(process.argv[1]);
    (async () => {
      const ds = createDataSource(JSON.parse(process.argv[2]));
      await ds.initialize();
      process.stdout.write('ready\\n');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      const applied = await runMigrations(ds);
      await ds.destroy();
      process.stdout.write(JSON.stringify({ applied }) + '\\n');
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['-e', script, path.join(__dirname, 'index.ts'), JSON.stringify(settings)], {
    cwd: __dirname,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`boot process exited ${code}: ${stderr}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) resolve();
    });
    exited.then(() => reject(new Error(`boot process exited before it was ready: ${stdout}`)), reject);
  });
  const applied = exited.then(() => {
    const last = stdout.trim().split('\n').pop() ?? '';
    return (JSON.parse(last) as { applied: string[] }).applied;
  });
  return { go: () => child.stdin.end('go\n'), applied };
}
