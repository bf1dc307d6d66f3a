import { Table, TableForeignKey, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Prune schedules and the history of their runs. Frozen once landed: lengths and names are
 * spelled out, not imported from the entities.
 */
export class PruneSchedules1796100000000 implements MigrationInterface {
  readonly name = 'PruneSchedules1796100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'prune_schedule',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'name', type: 'varchar', length: '128', isUnique: true },
          { name: 'cron', type: 'text', isNullable: true },
          { name: 'every_seconds', type: 'integer', isNullable: true },
          { name: 'timezone', type: 'varchar', length: '64', isNullable: true },
          { name: 'options', type: 'text' },
          { name: 'sweep', type: 'boolean' },
          { name: 'sweep_grace_seconds', type: 'integer' },
          { name: 'dry_run', type: 'boolean' },
          { name: 'enabled', type: 'boolean' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'prune_run',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'schedule_id', type: 'varchar', length: '36' },
          { name: 'started_at', type: 'bigint' },
          { name: 'finished_at', type: 'bigint', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'report', type: 'text', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'idx_prune_run_schedule_started', columnNames: ['schedule_id', 'started_at'] })],
        // Declared with the table: on SQLite a later createForeignKey rebuilds the whole table.
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_prune_run_schedule',
            columnNames: ['schedule_id'],
            referencedTableName: 'prune_schedule',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('prune_run');
    await queryRunner.dropTable('prune_schedule');
  }
}
