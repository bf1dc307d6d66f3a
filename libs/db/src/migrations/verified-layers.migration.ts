import { TableColumn } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `image_layer.verified`: whether the row's diff ID and content size were read from the layer
 * itself (ADR 0010). Loads, pulls, builds and imports inspect every layer they commit; registry
 * pushes did not, and wrote the compressed size as the content size. No column records how an
 * image came in, but that write left a mark: content size equal to blob size. A layer read from
 * a plain tar never has it (the tar's headers and end blocks count in the blob, not in the
 * content), a gzip layer only by coincidence; such a row merely loses trust (a pull reads the
 * blob again), while every pushed row is caught.
 */
export class VerifiedLayers1796300000000 implements MigrationInterface {
  readonly name = 'VerifiedLayers1796300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // SQLite keeps a boolean default as written: `1`, as TypeORM writes the entity's `true` there.
    const defaultTrue = queryRunner.connection.options.type === 'postgres' ? true : 1;
    await queryRunner.addColumn('image_layer', new TableColumn({ name: 'verified', type: 'boolean', default: defaultTrue }));
    await queryRunner.query('UPDATE image_layer SET verified = false WHERE content_size = blob_size');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('image_layer', 'verified');
  }
}
