import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokenEntity } from '@cargohold/db';
import { InvalidTokenRequestError, TokenNotFoundError } from './auth.errors';
import type { Principal, ScopeGrant } from './auth.types';
import { normaliseScopes } from './grants.util';

/** Every API token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const API_TOKEN_PREFIX = 'chk_';

/** last_used_at is written at most this often per token: authentication stays a read. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface CreateApiTokenInput {
  name: string;
  scopes: ScopeGrant[];
  /** Unset: the token never expires. */
  expiresInSeconds?: number;
}

/** An API token as listed: never its secret. Times are ISO 8601. */
export interface ApiTokenInfo {
  id: string;
  name: string;
  scopes: ScopeGrant[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** What create() returns: the only time the secret is seen. */
export interface CreatedApiToken {
  id: string;
  name: string;
  token: string;
  scopes: ScopeGrant[];
  createdAt: string;
  expiresAt: string | null;
}

/** API tokens: stored as the sha256 of the secret, listed without it, revoked by id. */
@Injectable()
export class ApiTokenService {
  private readonly logger = new Logger('ApiTokens');

  constructor(private readonly dataSource: DataSource) {}

  async create(input: CreateApiTokenInput): Promise<CreatedApiToken> {
    const name = input.name?.trim();
    if (!name || name.length > 128) throw new InvalidTokenRequestError('a token name is 1 to 128 characters');
    const scopes = normaliseScopes(input.scopes);
    if (input.expiresInSeconds !== undefined && !(Number.isInteger(input.expiresInSeconds) && input.expiresInSeconds > 0)) {
      throw new InvalidTokenRequestError('expiresInSeconds must be a positive whole number');
    }
    const token = API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = Date.now();
    const row = Object.assign(new ApiTokenEntity(), {
      id: randomUUID(),
      name,
      tokenHash: hashToken(token),
      scopes: JSON.stringify(scopes),
      createdAt: now,
      expiresAt: input.expiresInSeconds === undefined ? null : now + input.expiresInSeconds * 1000,
      revokedAt: null,
      lastUsedAt: null,
    });
    await this.dataSource.getRepository(ApiTokenEntity).insert(row);
    return { id: row.id, name, token, scopes, createdAt: iso(now), expiresAt: isoOrNull(row.expiresAt) };
  }

  /** Every token, revoked and expired ones included (for audit), newest first. */
  async list(): Promise<ApiTokenInfo[]> {
    const rows = await this.dataSource.getRepository(ApiTokenEntity).find({ order: { createdAt: 'DESC', id: 'ASC' } });
    return rows.map(toInfo);
  }

  async get(id: string): Promise<ApiTokenInfo> {
    return toInfo(await this.find(id));
  }

  /** Revokes the token (from now on it authenticates nothing). Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiTokenInfo> {
    await this.find(id);
    await this.dataSource.getRepository(ApiTokenEntity).update({ id, revokedAt: IsNull() }, { revokedAt: Date.now() });
    return this.get(id);
  }

  /** The principal of a live token's secret; null for an unknown, revoked or expired one. */
  async authenticate(secret: string): Promise<Principal | null> {
    if (!secret.startsWith(API_TOKEN_PREFIX)) return null;
    const row = await this.dataSource.getRepository(ApiTokenEntity).findOneBy({ tokenHash: hashToken(secret) });
    const now = Date.now();
    if (!row || !isLive(row, now)) return null;
    if (row.lastUsedAt === null || row.lastUsedAt <= now - LAST_USED_RESOLUTION_MS) this.touch(row.id, now);
    return { kind: 'token', tokenId: row.id, name: row.name, grants: parseScopes(row) };
  }

  /** Is the token with this id neither revoked nor expired (nor deleted)? */
  async isLive(id: string): Promise<boolean> {
    const row = await this.dataSource.getRepository(ApiTokenEntity).findOneBy({ id });
    return row !== null && isLive(row, Date.now());
  }

  private async find(id: string): Promise<ApiTokenEntity> {
    const row = await this.dataSource.getRepository(ApiTokenEntity).findOneBy({ id });
    if (!row) throw new TokenNotFoundError(id);
    return row;
  }

  /**
   * Records the use without holding up the request. The condition makes concurrent requests
   * (and replicas) write it once per resolution interval.
   */
  private touch(id: string, now: number): void {
    void this.dataSource
      .createQueryBuilder()
      .update(ApiTokenEntity)
      .set({ lastUsedAt: now })
      .where('id = :id AND (last_used_at IS NULL OR last_used_at <= :before)', { id, before: now - LAST_USED_RESOLUTION_MS })
      .execute()
      .catch((error: unknown) => this.logger.warn(`could not record the use of API token ${id}: ${(error as Error).message}`));
  }
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function isLive(row: ApiTokenEntity, now: number): boolean {
  return row.revokedAt === null && (row.expiresAt === null || row.expiresAt > now);
}

function parseScopes(row: ApiTokenEntity): ScopeGrant[] {
  return normaliseScopes(JSON.parse(row.scopes) as ScopeGrant[]);
}

function toInfo(row: ApiTokenEntity): ApiTokenInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: parseScopes(row),
    createdAt: iso(row.createdAt),
    expiresAt: isoOrNull(row.expiresAt),
    revokedAt: isoOrNull(row.revokedAt),
    lastUsedAt: isoOrNull(row.lastUsedAt),
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
