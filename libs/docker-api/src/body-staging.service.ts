import { randomUUID } from 'node:crypto';
import { Readable, Transform, type Writable } from 'node:stream';
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

  /**
   * Stages the body under a new key and returns the key. `tap`, when given, is written every
   * byte on the way (at its pace: it may slow the upload, never lose data), and ended or destroyed
   * with the upload.
   */
  async stage(req: FastifyRequest, kind: string, what: string, tap?: Writable): Promise<string> {
    const body: unknown = req.body ?? req.raw;
    if (!(body instanceof Readable)) throw new BadRequestException(`the ${what} must be sent as the request body with Content-Type application/x-tar`);
    const key = `${kind}-${randomUUID()}`;
    let stream: Readable = body.pipe(limitBytes(this.config.loadMaxBytes, what));
    if (tap) stream = stream.pipe(teeInto(tap));
    try {
      await this.blobs.stage(key, stream);
    } catch (error) {
      tap?.destroy();
      throw error;
    }
    return key;
  }

  /** Stages bytes the gateway made itself (a context index) under a new key. */
  async stageBytes(kind: string, data: Buffer): Promise<string> {
    const key = `${kind}-${randomUUID()}`;
    await this.blobs.stage(key, Readable.from([data]));
    return key;
  }
}

/** Passes chunks on once `tap` has taken them, and ends `tap` with the stream. */
function teeInto(tap: Writable): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (tap.write(chunk)) return done(null, chunk);
      const go = (): void => {
        tap.off('drain', go);
        tap.off('close', go);
        done(null, chunk);
      };
      tap.once('drain', go);
      tap.once('close', go);
    },
    flush(done) {
      tap.end();
      done();
    },
  });
}
