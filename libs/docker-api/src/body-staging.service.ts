import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { BLOB_STORE, type BlobStore } from '@cargohold/storage';
import { limitBytes } from './limit-bytes.util';

/** Streams a request body (an archive, a root filesystem, a build context) into the blob store's staging area, bounded, for a job to read. */
@Injectable()
export class BodyStagingService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  async stage(req: FastifyRequest, kind: string, what: string): Promise<string> {
    const body: unknown = req.body ?? req.raw;
    if (!(body instanceof Readable)) throw new BadRequestException(`the ${what} must be sent as the request body with Content-Type application/x-tar`);
    const key = `${kind}-${randomUUID()}`;
    await this.blobs.stage(key, body.pipe(limitBytes(this.config.loadMaxBytes, what)));
    return key;
  }
}
