import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ServiceSecretEntity } from '@cargohold/db';

/**
 * Secrets every gateway replica must share (the registry token signing key), kept in the
 * database. The first replica to need one creates it; the rest read that one.
 */
@Injectable()
export class ServiceSecretStore {
  private readonly loaded = new Map<string, Promise<Buffer>>();

  constructor(private readonly dataSource: DataSource) {}

  /** The secret called `name`: 32 random bytes, created on first use, cached after that. */
  get(name: string): Promise<Buffer> {
    let secret = this.loaded.get(name);
    if (!secret) {
      secret = this.load(name);
      // A failed load (database down) is retried on the next call rather than cached.
      secret.catch(() => this.loaded.delete(name));
      this.loaded.set(name, secret);
    }
    return secret;
  }

  private async load(name: string): Promise<Buffer> {
    // Insert-or-ignore, then read: replicas racing here all end up with the row that won.
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(ServiceSecretEntity)
      .values({ name, value: randomBytes(32).toString('base64url'), createdAt: Date.now() })
      .orIgnore()
      .execute();
    const row = await this.dataSource.getRepository(ServiceSecretEntity).findOneByOrFail({ name });
    const secret = Buffer.from(row.value, 'base64url');
    if (secret.length < 32) throw new Error(`the service secret ${JSON.stringify(name)} in the database is shorter than 32 bytes; delete the row to have a new one made`);
    return secret;
  }
}
