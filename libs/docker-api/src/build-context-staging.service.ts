import { Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ContextIndexer } from '@cargohold/context-index';
import { BodyStagingService } from './body-staging.service';

export interface StagedContext {
  contextKey: string;
  /** Absent when the context was not plain enough to index: the builder then extracts it up front. */
  contextIndexKey?: string;
}

/**
 * Stages a build context and indexes it on the way in (paths, modes, content digests, the
 * Dockerfile's bytes), so the index is ready the moment the last byte arrives. The docker CLI
 * spends most of a cached build producing the context tar; this is what lets the builder answer
 * "every step cached" without extracting it afterwards (docs/adr/0008).
 */
@Injectable()
export class BuildContextStagingService {
  private readonly logger = new Logger(BuildContextStagingService.name);

  constructor(private readonly staging: BodyStagingService) {}

  async stage(req: FastifyRequest, dockerfile: string): Promise<StagedContext> {
    const indexer = new ContextIndexer({ keep: [dockerfile, '.dockerignore'] });
    const contextKey = await this.staging.stage(req, 'build', 'build context', indexer);
    const outcome = await indexer.outcome;
    if (!outcome.index) {
      this.logger.debug(`build context ${contextKey} not indexed: ${outcome.reason}`);
      return { contextKey };
    }
    return { contextKey, contextIndexKey: await this.staging.stageBytes('build-index', outcome.index.toBuffer()) };
  }
}
