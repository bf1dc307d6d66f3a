import { TableColumn, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sweep's tombstone: a blob row with `deleting_at` set is being deleted and may not be
 * referenced any more (ADR 0006). Orphan store objects get a tombstone row of their own.
 */
export class GcSweep1796200000000 implements MigrationInterface {
  readonly name = 'GcSweep1796200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('blob', new TableColumn({ name: 'deleting_at', type: 'bigint', isNullable: true }));
    // The sweep asks, for every manifest, whether a tag, digest reference or image names it.
    await queryRunner.createIndex('tag', new TableIndex({ name: 'idx_tag_manifest', columnNames: ['manifest_digest'] }));
    await queryRunner.createIndex('repo_digest', new TableIndex({ name: 'idx_repo_digest_digest', columnNames: ['digest'] }));
    await queryRunner.createIndex('image', new TableIndex({ name: 'idx_image_manifest', columnNames: ['manifest_digest'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('image', 'idx_image_manifest');
    await queryRunner.dropIndex('repo_digest', 'idx_repo_digest_digest');
    await queryRunner.dropIndex('tag', 'idx_tag_manifest');
    await queryRunner.dropColumn('blob', 'deleting_at');
  }
}
