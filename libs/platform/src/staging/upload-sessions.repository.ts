import { Injectable } from '@nestjs/common';
import { DataSource, LessThan } from 'typeorm';
import { UploadEntity } from '@cargohold/db';

/** Registry upload sessions as the staging expiry sees them (the `upload` table). */
export interface UploadSessions {
  /** Deletes sessions untouched since `cutoff` (epoch ms); returns how many. */
  expire(cutoff: number): Promise<number>;
  /** Ids of the sessions that remain: their staged parts must stay, however old. */
  liveIds(): Promise<Set<string>>;
}

/** Staged parts of a registry upload are named `upload-<session id>-<nonce>`. */
export function uploadIdOfStagedKey(key: string): string | null {
  const match = /^upload-([0-9a-f-]{36})-/.exec(key);
  return match ? match[1] : null;
}

@Injectable()
export class UploadSessionsRepository implements UploadSessions {
  constructor(private readonly dataSource: DataSource) {}

  async expire(cutoff: number): Promise<number> {
    const result = await this.dataSource.manager.delete(UploadEntity, { updatedAt: LessThan(cutoff) });
    return result.affected ?? 0;
  }

  async liveIds(): Promise<Set<string>> {
    const rows = await this.dataSource.manager.find(UploadEntity, { select: ['id'] });
    return new Set(rows.map((r) => r.id));
  }
}
