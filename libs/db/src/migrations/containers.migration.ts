import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Containers as pins (`docker create`): each names the image it was created from. No foreign
 * key to `image`: a forced removal by image ID deletes the image even so, as dockerd does.
 * Frozen once landed: lengths and names are spelled out, not imported from the entity.
 */
export class Containers1796000000000 implements MigrationInterface {
  readonly name = 'Containers1796000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'container',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'name', type: 'varchar', length: '255', isUnique: true },
          { name: 'image', type: 'text' },
          { name: 'image_id', type: 'varchar', length: '135' },
          { name: 'config', type: 'text' },
          { name: 'host_config', type: 'text' },
          { name: 'platform', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'idx_container_image', columnNames: ['image_id'] }),
          new TableIndex({ name: 'idx_container_created', columnNames: ['created_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('container');
  }
}
