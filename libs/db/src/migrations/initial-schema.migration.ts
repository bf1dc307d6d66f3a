import { Table, TableForeignKey, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

// A migration is frozen once it lands: every length and name is spelled out here rather than
// imported from the entities, so later entity edits need a new migration instead of
// silently changing this one.
const digest = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({ name, type: 'varchar', length: '135', ...extra });
const bigint = (name: string): TableColumnOptions => ({ name, type: 'bigint' });
const varchar = (name: string, length: number, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  ...extra,
});

/** The first schema: blobs, manifests, images and their layers, repositories, tags, repo digests. */
export class InitialSchema1795827950356 implements MigrationInterface {
  // Explicit, so bundling or minifying the class cannot change the recorded migration name.
  readonly name = 'InitialSchema1795827950356';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'blob',
        columns: [digest('digest', { isPrimary: true }), bigint('size'), bigint('created_at')],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'manifest',
        columns: [
          digest('digest', { isPrimary: true }),
          varchar('media_type', 255),
          { name: 'size', type: 'integer' },
          { name: 'content', type: 'text' },
          digest('config_digest', { isNullable: true }),
          digest('subject_digest', { isNullable: true }),
          varchar('artifact_type', 255, { isNullable: true }),
          bigint('created_at'),
        ],
        indices: [
          new TableIndex({ name: 'idx_manifest_config', columnNames: ['config_digest'] }),
          new TableIndex({ name: 'idx_manifest_subject', columnNames: ['subject_digest'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'manifest_ref',
        columns: [
          digest('manifest_digest', { isPrimary: true }),
          { name: 'position', type: 'integer', isPrimary: true },
          varchar('kind', 16),
          digest('target_digest'),
          varchar('media_type', 255),
          bigint('size'),
          { name: 'platform', type: 'text', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'idx_manifest_ref_target', columnNames: ['target_digest'] })],
        // Declared with the table: on SQLite a later createForeignKey rebuilds the whole table.
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_manifest_ref_manifest',
            columnNames: ['manifest_digest'],
            referencedTableName: 'manifest',
            referencedColumnNames: ['digest'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'image',
        columns: [
          digest('id', { isPrimary: true }),
          { name: 'config', type: 'text' },
          { name: 'labels', type: 'text', default: "'{}'" },
          bigint('size'),
          bigint('created'),
          digest('parent_id', { isNullable: true }),
          varchar('os', 32, { default: "'linux'" }),
          varchar('architecture', 32, { default: "'amd64'" }),
          varchar('variant', 32, { isNullable: true }),
          digest('manifest_digest'),
          bigint('stored_at'),
        ],
        indices: [
          new TableIndex({ name: 'idx_image_created', columnNames: ['created'] }),
          new TableIndex({ name: 'idx_image_parent', columnNames: ['parent_id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'image_layer',
        columns: [
          digest('image_id', { isPrimary: true }),
          { name: 'position', type: 'integer', isPrimary: true },
          digest('diff_id'),
          digest('blob_digest'),
          varchar('media_type', 255),
          bigint('blob_size'),
          bigint('content_size'),
        ],
        indices: [new TableIndex({ name: 'idx_image_layer_blob', columnNames: ['blob_digest'] })],
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_image_layer_image',
            columnNames: ['image_id'],
            referencedTableName: 'image',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'repository',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          varchar('name', 255, { isUnique: true }),
          bigint('created_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'tag',
        columns: [
          { name: 'repository_id', type: 'integer', isPrimary: true },
          varchar('name', 128, { isPrimary: true }),
          digest('image_id'),
          digest('manifest_digest'),
          bigint('updated_at'),
        ],
        indices: [new TableIndex({ name: 'idx_tag_image', columnNames: ['image_id'] })],
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_tag_repository',
            columnNames: ['repository_id'],
            referencedTableName: 'repository',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'fk_tag_image',
            columnNames: ['image_id'],
            referencedTableName: 'image',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'repo_digest',
        columns: [
          { name: 'repository_id', type: 'integer', isPrimary: true },
          digest('digest', { isPrimary: true }),
          digest('image_id'),
          bigint('created_at'),
        ],
        indices: [new TableIndex({ name: 'idx_repo_digest_image', columnNames: ['image_id'] })],
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_repo_digest_repository',
            columnNames: ['repository_id'],
            referencedTableName: 'repository',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'fk_repo_digest_image',
            columnNames: ['image_id'],
            referencedTableName: 'image',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );

    // One row whose version every reference or image change bumps in its own transaction, so
    // readers can cache listings and know for one cheap query whether they are still current.
    await queryRunner.createTable(
      new Table({
        name: 'store_state',
        columns: [{ name: 'id', type: 'integer', isPrimary: true }, bigint('version')],
      }),
    );
    await queryRunner.query('INSERT INTO store_state (id, version) VALUES (1, 0)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Children first, so no foreign key is left pointing at a dropped table.
    for (const table of ['store_state', 'repo_digest', 'tag', 'repository', 'image_layer', 'image', 'manifest_ref', 'manifest', 'blob']) {
      await queryRunner.dropTable(table);
    }
  }
}
