import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './columns';

/** An API token: only its sha256 is stored; the secret is shown once, at creation. */
@Entity('api_token')
export class ApiTokenEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  /** Hex sha256 of the whole token string. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  /** JSON array of `{ repository: <pattern>, actions: [...] }`. */
  @Column({ type: 'text' })
  scopes!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;

  @Column({ name: 'expires_at', type: 'bigint', transformer: bigintNumber, nullable: true })
  expiresAt!: number | null;

  @Column({ name: 'revoked_at', type: 'bigint', transformer: bigintNumber, nullable: true })
  revokedAt!: number | null;

  @Column({ name: 'last_used_at', type: 'bigint', transformer: bigintNumber, nullable: true })
  lastUsedAt!: number | null;
}

/** A secret every gateway replica shares (the registry token signing key), created on first use. */
@Entity('service_secret')
export class ServiceSecretEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'text' })
  value!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintNumber })
  createdAt!: number;
}
