import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The build cache every builder replica shares: step key → the image that step produced. */
export class BuildCache1795950000000 implements MigrationInterface {
  readonly name = 'BuildCache1795950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'build_cache',
        columns: [
          { name: 'key', type: 'varchar', length: '71', isPrimary: true },
          { name: 'image_id', type: 'varchar', length: '135' },
          { name: 'created_at', type: 'bigint' },
          { name: 'last_used_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'idx_build_cache_image', columnNames: ['image_id'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('build_cache');
  }
}
