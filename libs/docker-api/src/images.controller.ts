import { Readable } from 'node:stream';
import { BadRequestException, Controller, Delete, Get, Header, Inject, NotFoundException, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ImageCatalogService, ImageExportService, ImageRemovalService, ImageTaggingService, parseRef } from '@cargohold/image-store';
import { isValidTag, writeImageArchive } from '@cargohold/oci';
import { JobName } from '@cargohold/queue-contracts';
import { BLOB_STORE, type BlobStore } from '@cargohold/storage';
import { DockerErrorFilter } from './docker-error.filter';
import { JobStreamService } from './job-stream.service';
import { decodeRegistryAuth } from './registry-auth.util';
import { boolParam, listParam, stringParam } from './query.util';
import { BodyStagingService } from './body-staging.service';

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
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly catalog: ImageCatalogService,
    private readonly removal: ImageRemovalService,
    private readonly tagging: ImageTaggingService,
    private readonly exporter: ImageExportService,
    private readonly jobs: JobStreamService,
    private readonly staging: BodyStagingService,
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
    const archiveKey = await this.staging.stage(req, 'load', 'archive');
    await this.jobs.run(
      reply,
      { name: JobName.Load, data: { archiveKey, quiet } },
      (result, out) => {
        for (const image of result.images) {
          if (image.tags.length) for (const tag of image.tags) out.write({ stream: `Loaded image: ${tag}\n` });
          else out.write({ stream: `Loaded image ID: ${image.id}\n` });
        }
      },
      { errorsInStream: true },
    );
  }

  /** `docker pull` (`fromImage`) and `docker import` (`fromSrc`). */
  @Post('create')
  async create(@Req() req: FastifyRequest, @Query() q: Query, @Res() reply: FastifyReply): Promise<void> {
    const fromImage = stringParam(q.fromImage);
    const platform = stringParam(q.platform) || undefined;
    if (fromImage) {
      const tag = stringParam(q.tag) || undefined;
      const ref = parseRef(fromImage);
      if (tag && !tag.startsWith('sha256:') && !isValidTag(tag)) throw new BadRequestException(`invalid tag format`);
      const allTags = !tag && !ref.tag && !ref.digest;
      const auth = decodeRegistryAuth(req.headers['x-registry-auth']);
      await this.jobs.run(reply, { name: JobName.Pull, data: { image: fromImage, tag, allTags, platform, auth } }, () => undefined);
      return;
    }
    const fromSrc = stringParam(q.fromSrc);
    if (!fromSrc) throw new BadRequestException('either fromImage or fromSrc is required');
    const repo = stringParam(q.repo) || undefined;
    if (repo) parseRef(repo);
    const sourceKey = fromSrc === '-' ? await this.staging.stage(req, 'import', 'root filesystem tar') : undefined;
    const data = {
      ...(sourceKey ? { sourceKey } : { sourceUrl: fromSrc }),
      repo,
      tag: stringParam(q.tag) || undefined,
      message: stringParam(q.message) || undefined,
      changes: listParam(q.changes),
      platform,
      created: new Date().toISOString(),
    };
    await this.jobs.run(reply, { name: JobName.Import, data }, (result, out) => out.write({ status: `${result.id}\n` }));
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
  async postByName(@Req() req: FastifyRequest, @Query() q: Query, @Res() reply: FastifyReply): Promise<void> {
    const [name, action] = splitAction(req);
    if (action === 'tag') {
      await this.tagging.tag(name, stringParam(q.repo) ?? '', stringParam(q.tag));
      await reply.status(201).send();
      return;
    }
    if (action === 'push') {
      const header = req.headers['x-registry-auth'];
      if (!header) throw new BadRequestException('Bad parameters and missing X-Registry-Auth: EOF');
      const tag = stringParam(q.tag) || undefined;
      await this.jobs.run(reply, { name: JobName.Push, data: { name, tag, auth: decodeRegistryAuth(header) } }, (result, out) => {
        for (const p of result.pushed) out.write({ progressDetail: {}, aux: { Tag: p.tag, Digest: p.digest, Size: p.size } });
      });
      return;
    }
    throw new NotFoundException('page not found');
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
    // Manifests come from the database, where every write path keeps them byte-exact.
    const manifests = new Map(images.map((i) => [i.manifest.digest, i.manifest.bytes]));
    const archive = writeImageArchive(images, async (digest) => {
      const manifest = manifests.get(digest);
      return manifest ? Readable.from([manifest]) : this.blobs.get(digest as `sha256:${string}`);
    });
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
