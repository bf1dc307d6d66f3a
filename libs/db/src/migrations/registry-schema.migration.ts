import { Table, TableColumn, TableForeignKey, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

// Frozen once landed, like the initial schema: lengths and names are spelled out here.
const digest = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({ name, type: 'varchar', length: '135', ...extra });
const bigint = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({ name, type: 'bigint', ...extra });
const varchar = (name: string, length: number, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  ...extra,
});
const repositoryFk = (table: string): TableForeignKey =>
  new TableForeignKey({
    name: `fk_${table}_repository`,
    columnNames: ['repository_id'],
    referencedTableName: 'repository',
    referencedColumnNames: ['id'],
    onDelete: 'CASCADE',
  });

/**
 * The registry API and tokens: which manifests and blobs each repository holds (distribution's
 * repository links), upload sessions, API tokens, service secrets; tags may name manifests that
 * are not images (OCI artifacts), so `tag.image_id` becomes nullable.
 */
export class RegistrySchema1795900000000 implements MigrationInterface {
  readonly name = 'RegistrySchema1795900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // PostgreSQL changes the constraint in place; SQLite cannot, and TypeORM rebuilds the table.
    if (queryRunner.connection.options.type === 'postgres') await queryRunner.query('ALTER TABLE "tag" ALTER COLUMN "image_id" DROP NOT NULL');
    else await queryRunner.changeColumn('tag', 'image_id', new TableColumn(digest('image_id', { isNullable: true })));

    await queryRunner.createTable(
      new Table({
        name: 'repository_manifest',
        columns: [{ name: 'repository_id', type: 'integer', isPrimary: true }, digest('manifest_digest', { isPrimary: true }), bigint('created_at')],
        indices: [new TableIndex({ name: 'idx_repository_manifest_digest', columnNames: ['manifest_digest'] })],
        foreignKeys: [repositoryFk('repository_manifest')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'repository_blob',
        columns: [{ name: 'repository_id', type: 'integer', isPrimary: true }, digest('blob_digest', { isPrimary: true }), bigint('created_at')],
        indices: [new TableIndex({ name: 'idx_repository_blob_digest', columnNames: ['blob_digest'] })],
        foreignKeys: [repositoryFk('repository_blob')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'upload',
        columns: [
          varchar('id', 36, { isPrimary: true }),
          { name: 'repository_id', type: 'integer' },
          bigint('size'),
          { name: 'parts', type: 'text' },
          bigint('created_at'),
          bigint('updated_at'),
        ],
        indices: [new TableIndex({ name: 'idx_upload_updated', columnNames: ['updated_at'] })],
        foreignKeys: [repositoryFk('upload')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'api_token',
        columns: [
          varchar('id', 36, { isPrimary: true }),
          varchar('name', 128),
          varchar('token_hash', 64, { isUnique: true }),
          { name: 'scopes', type: 'text' },
          bigint('created_at'),
          bigint('expires_at', { isNullable: true }),
          bigint('revoked_at', { isNullable: true }),
          bigint('last_used_at', { isNullable: true }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'service_secret',
        columns: [varchar('name', 64, { isPrimary: true }), { name: 'value', type: 'text' }, bigint('created_at')],
      }),
    );

    // Whatever a tag or digest reference names already is in its repository: the manifest, an
    // index's manifests, and every blob they reference.
    const now = Date.now();
    await queryRunner.query(
      `INSERT INTO repository_manifest (repository_id, manifest_digest, created_at)
       SELECT DISTINCT repository_id, manifest_digest, ${now} FROM tag
       UNION SELECT DISTINCT repository_id, digest, ${now} FROM repo_digest`,
    );
    await queryRunner.query(
      `INSERT INTO repository_manifest (repository_id, manifest_digest, created_at)
       SELECT DISTINCT rm.repository_id, r.target_digest, ${now} FROM repository_manifest rm
       JOIN manifest_ref r ON r.manifest_digest = rm.manifest_digest AND r.kind = 'manifest'
       WHERE NOT EXISTS (SELECT 1 FROM repository_manifest x WHERE x.repository_id = rm.repository_id AND x.manifest_digest = r.target_digest)`,
    );
    await queryRunner.query(
      `INSERT INTO repository_blob (repository_id, blob_digest, created_at)
       SELECT DISTINCT rm.repository_id, r.target_digest, ${now} FROM repository_manifest rm
       JOIN manifest_ref r ON r.manifest_digest = rm.manifest_digest AND r.kind <> 'manifest'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['service_secret', 'api_token', 'upload', 'repository_blob', 'repository_manifest']) await queryRunner.dropTable(table);
    await queryRunner.query('DELETE FROM tag WHERE image_id IS NULL');
    if (queryRunner.connection.options.type === 'postgres') await queryRunner.query('ALTER TABLE "tag" ALTER COLUMN "image_id" SET NOT NULL');
    else await queryRunner.changeColumn('tag', 'image_id', new TableColumn(digest('image_id')));
  }
}
