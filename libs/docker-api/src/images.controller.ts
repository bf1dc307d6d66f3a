import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { BadRequestException, Controller, Delete, Get, Header, HttpCode, Inject, NotFoundException, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { ImageCatalogService, ImageExportService, ImageRemovalService, ImageTaggingService } from '@cargohold/image-store';
import { writeImageArchive } from '@cargohold/oci';
import { JobProducer } from '@cargohold/queue';
import { JobName, type LoadResult } from '@cargohold/queue-contracts';
import { BLOB_STORE, type BlobStore } from '@cargohold/storage';
import { DockerErrorFilter } from './docker-error.filter';
import { JsonMessageStream } from './json-stream.util';
import { boolParam, listParam, stringParam } from './query.util';
import { limitBytes } from './limit-bytes.util';

type Query = Record<string, unknown>;

/**
 * The image half of the Docker Engine API. Image names may contain slashes
 * (`127.0.0.1:5000/a/b:tag`), so per-image routes take the whole rest of the path and split
 * off the action suffix, as dockerd's `{name:.*}` routes do.
 */
@Controller('images')
@UseFilters(DockerErrorFilter)
export class ImagesController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly catalog: ImageCatalogService,
    private readonly removal: ImageRemovalService,
    private readonly tagging: ImageTaggingService,
    private readonly exporter: ImageExportService,
    private readonly producer: JobProducer,
  ) {}

  @Get('json')
  @Header('Content-Type', 'application/json')
  list(@Query() q: Query): Promise<string> {
    return this.catalog.listJson({
      all: boolParam(q.all),
      filters: stringParam(q.filters) ?? (stringParam(q.filter) ? JSON.stringify({ reference: [stringParam(q.filter)] }) : undefined),
      sharedSize: boolParam(q['shared-size']),
    });
  }

  @Get('get')
  async saveMany(@Query() q: Query, @Res() reply: FastifyReply): Promise<void> {
    await this.save(listParam(q.names), reply);
  }

  @Post('load')
  async load(@Req() req: FastifyRequest, @Query() q: Query, @Res() reply: FastifyReply): Promise<void> {
    const quiet = boolParam(q.quiet, true);
    const archiveKey = `load-${randomUUID()}`;
    const body: unknown = req.body ?? req.raw;
    if (!(body instanceof Readable)) throw new BadRequestException('the archive must be sent as the request body with Content-Type application/x-tar');
    await this.blobs.stage(archiveKey, body.pipe(limitBytes(this.config.loadMaxBytes, 'archive')));
    reply.hijack();
    const out = new JsonMessageStream(reply.raw);
    try {
      const result: LoadResult = await this.producer.follow({ name: JobName.Load, data: { archiveKey, quiet } }, (p) => out.write(p));
      for (const image of result.images) {
        if (image.tags.length) for (const tag of image.tags) out.write({ stream: `Loaded image: ${tag}\n` });
        else out.write({ stream: `Loaded image ID: ${image.id}\n` });
      }
    } catch (err) {
      out.fail(err instanceof Error ? err.message : String(err));
    }
    out.end();
  }

  @Get('*')
  async getByName(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const [name, action] = splitAction(req);
    switch (action) {
      case 'json':
        return this.catalog.inspect(name);
      case 'history':
        return this.catalog.history(name);
      case 'get':
        return this.save([name], reply);
      default:
        throw new NotFoundException('page not found');
    }
  }

  @Post('*')
  @HttpCode(201)
  async postByName(@Req() req: FastifyRequest, @Query() q: Query): Promise<void> {
    const [name, action] = splitAction(req);
    if (action !== 'tag') throw new NotFoundException('page not found');
    await this.tagging.tag(name, stringParam(q.repo) ?? '', stringParam(q.tag));
  }

  @Delete('*')
  remove(@Req() req: FastifyRequest, @Query() q: Query) {
    const name = restOfPath(req);
    if (!name.trim()) throw new NotFoundException('image name cannot be blank');
    return this.removal.remove(name, { force: boolParam(q.force), prune: !boolParam(q.noprune) });
  }

  /** `docker save`: resolve everything first (errors are plain 404s), then stream the tar. */
  private async save(names: string[], reply: FastifyReply): Promise<void> {
    const images = await this.exporter.plan(names);
    const archive = writeImageArchive(images, (digest) => this.blobs.get(digest as `sha256:${string}`));
    await reply.header('content-type', 'application/x-tar').send(archive);
  }
}

/** The image name from `/images/<name>`, URL-decoded. */
function restOfPath(req: FastifyRequest): string {
  return decodeURIComponent((req.params as Record<string, string>)['*'] ?? '');
}

/** `/images/<name>/<action>` → [name, action]. */
function splitAction(req: FastifyRequest): [string, string] {
  const rest = restOfPath(req);
  const slash = rest.lastIndexOf('/');
  return slash === -1 ? [rest, ''] : [rest.slice(0, slash), rest.slice(slash + 1)];
}
