import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';
import { ImageEntity } from './image.entity';

/** Layer `position` of an image: its diff ID and the blob that holds it. */
@Entity('image_layer')
export class ImageLayerEntity {
  /** Layers belong to their image: deleting the image deletes them. */
  @ForeignKey(() => ImageEntity, { name: 'fk_image_layer_image', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'image_id', type: 'varchar', length: DIGEST_LENGTH })
  imageId!: string;

  @PrimaryColumn({ type: 'integer' })
  position!: number;

  /** Digest of the uncompressed layer tar (rootfs.diff_ids[position]). */
  @Column({ name: 'diff_id', type: 'varchar', length: DIGEST_LENGTH })
  diffId!: string;

  @Index('idx_image_layer_blob')
  @Column({ name: 'blob_digest', type: 'varchar', length: DIGEST_LENGTH })
  blobDigest!: string;

  @Column({ name: 'media_type', type: 'varchar', length: 255 })
  mediaType!: string;

  @Column({ name: 'blob_size', type: 'bigint', transformer: bigintNumber })
  blobSize!: number;

  /** Sum of the sizes of the files in the layer (the blob size while not verified). */
  @Column({ name: 'content_size', type: 'bigint', transformer: bigintNumber })
  contentSize!: number;

  /**
   * Diff ID and content size were read from the blob (loads, pulls, builds, imports, the verify
   * job); false for a registry push, which takes them from the pushed config unchecked. Only
   * verified rows may stand in for reading a layer (ADR 0010).
   */
  @Column({ type: 'boolean', default: true })
  verified!: boolean;
}
