import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, DIGEST_LENGTH } from './columns';

/**
 * A container as a pin: `docker create` records one, nothing ever runs it. It holds its image
 * by ID, so `docker image rm` refuses (without force) to remove an image a container uses.
 *
 * For the gc: a container's `image_id` is a GC root. The image row, its layers' blobs, its
 * config and manifest stay while any container names it. No foreign key enforces this:
 * `docker image rm -f <image ID>` deletes the image even so, exactly as dockerd does, and the
 * container then keeps an image ID that resolves to nothing.
 */
@Entity('container')
export class ContainerEntity {
  /** 64 lower-case hex characters, as dockerd's container IDs. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** Without dockerd's leading `/` (`web`); unique across every gateway sharing the database. */
  @Column({ type: 'varchar', length: 255, unique: true })
  name!: string;

  /** The image reference as the client gave it (`busybox`, `sha256:…`, a short ID). */
  @Column({ type: 'text' })
  image!: string;

  /** What `image` resolved to at creation: the pinned image. */
  @Index('idx_container_image')
  @Column({ name: 'image_id', type: 'varchar', length: DIGEST_LENGTH })
  imageId!: string;

  /** The container Config JSON, merged with the image's config as dockerd merges it. */
  @Column({ type: 'text' })
  config!: string;

  /** The HostConfig JSON as the client sent it. */
  @Column({ name: 'host_config', type: 'text' })
  hostConfig!: string;

  /** `os/architecture[/variant]` of the image. */
  @Column({ type: 'varchar', length: 64 })
  platform!: string;

  /** Epoch milliseconds. */
  @Index('idx_container_created')
  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;
}
