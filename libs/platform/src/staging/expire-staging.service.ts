import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ExpireStagingResult } from '@cargohold/queue-contracts';
import { BLOB_STORE } from '@cargohold/storage';
import type { BlobStore } from '@cargohold/storage';
import { type UploadSessions, UploadSessionsRepository, uploadIdOfStagedKey } from './upload-sessions.repository';

export interface ExpireStagingOptions {
  /** Clock of the run; staged data last written before `now - olderThanSeconds` goes. */
  now?: Date;
  signal?: AbortSignal;
}

/**
 * Removes staged uploads (archives, build contexts, registry upload chunks) nobody committed
 * within the grace window: what a crashed or abandoned request left behind. Registry upload
 * sessions idle that long end first; the chunks of a session still in use stay, however old.
 * Idempotent: absent keys are not an error.
 */
@Injectable()
export class ExpireStagingService {
  constructor(
    @Inject(BLOB_STORE) private readonly store: Pick<BlobStore, 'listStaged' | 'removeStaged'>,
    @Optional() @Inject(UploadSessionsRepository) private readonly sessions?: UploadSessions,
  ) {}

  async expire(olderThanSeconds: number, options: ExpireStagingOptions = {}): Promise<ExpireStagingResult> {
    const cutoff = (options.now ?? new Date()).getTime() - olderThanSeconds * 1000;
    await this.sessions?.expire(cutoff);
    const live = (await this.sessions?.liveIds()) ?? new Set<string>();
    // Collect first, then remove: deleting while an S3 listing pages through the prefix can skip keys.
    const expired: { key: string; size: number }[] = [];
    for await (const staged of this.store.listStaged()) {
      options.signal?.throwIfAborted();
      const session = uploadIdOfStagedKey(staged.key);
      if (session !== null && live.has(session)) continue;
      if (staged.modified.getTime() < cutoff) expired.push({ key: staged.key, size: staged.size });
    }
    let removed = 0;
    let bytes = 0;
    for (const { key, size } of expired) {
      options.signal?.throwIfAborted();
      await this.store.removeStaged(key);
      removed += 1;
      bytes += size;
    }
    return { removed, bytes };
  }
}
