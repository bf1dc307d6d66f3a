import { Readable } from 'node:stream';
import { BadRequestException, Controller, Delete, Get, Header, HttpCode, HttpException, HttpStatus, NotFoundException, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONTAINERS_DO_NOT_RUN, ContainersService } from '@cargohold/image-store';
import type { ContainerCreateResponse, ContainerInspect, ContainerPruneReport } from '@cargohold/image-store';
import { DockerErrorFilter } from './docker-error.filter';
import { boolParam, stringParam } from './query.util';

type Query = Record<string, unknown>;

/** dockerd answers operations a daemon does not implement with 501 (errdefs.NotImplemented). */
const notSupported = () => new HttpException(CONTAINERS_DO_NOT_RUN, HttpStatus.NOT_IMPLEMENTED);

/** Operations on a running process: none exists, so each says so (after a 404 for an unknown container). */
const RUNTIME_POSTS = new Set(['stop', 'restart', 'kill', 'pause', 'unpause', 'exec', 'resize']);
const RUNTIME_GETS = new Set(['logs', 'top', 'stats', 'export', 'changes']);

/**
 * The container half of the Docker Engine API, for containers as pins: create, list, inspect,
 * rename, remove and prune work on records; start, attach and wait answer that nothing runs here. Per
 * container routes take the rest of the path, as ImagesController does, so a name given with
 * its leading slash (`docker rm /web` → `/containers//web`) still reaches the handler.
 */
@Controller('containers')
@UseFilters(DockerErrorFilter)
export class ContainersController {
  constructor(private readonly containers: ContainersService) {}

  @Post('create')
  @HttpCode(201)
  create(@Req() req: FastifyRequest, @Query() q: Query): Promise<ContainerCreateResponse> {
    const body: unknown = req.body;
    // A body that is not JSON reaches the route as a stream (see registerStreamingBodyParsers).
    const type = req.headers['content-type'];
    if (body instanceof Readable && type) throw new BadRequestException(`unsupported Content-Type header (${type}): must be 'application/json'`);
    return this.containers.create({
      name: stringParam(q.name) || undefined,
      platform: stringParam(q.platform) || undefined,
      body: body instanceof Readable ? undefined : body,
    });
  }

  @Get('json')
  @Header('Content-Type', 'application/json')
  async list(@Query() q: Query): Promise<string> {
    const list = await this.containers.list({
      all: boolParam(q.all),
      limit: intParam(q.limit),
      size: boolParam(q.size),
      filters: stringParam(q.filters),
      before: stringParam(q.before) || undefined,
      since: stringParam(q.since) || undefined,
    });
    return JSON.stringify(list);
  }

  /** A static route: Fastify matches it before `POST /containers/*`, as dockerd's router does. */
  @Post('prune')
  @HttpCode(200)
  prune(@Query() q: Query): Promise<ContainerPruneReport> {
    return this.containers.prune(stringParam(q.filters));
  }

  @Get('*')
  async getByName(@Req() req: FastifyRequest): Promise<ContainerInspect> {
    const [name, action] = splitAction(req);
    if (RUNTIME_GETS.has(action)) {
      await this.containers.resolve(name);
      throw notSupported();
    }
    if (action !== 'json') throw new NotFoundException('page not found');
    return this.containers.inspect(name);
  }

  @Delete('*')
  async remove(@Req() req: FastifyRequest, @Query() q: Query, @Res() reply: FastifyReply): Promise<void> {
    const name = restOfPath(req);
    // `docker rm --link` removes a link name, and pins have no links.
    if (boolParam(q.link)) throw new HttpException('not supported: cargohold containers have no links', HttpStatus.NOT_IMPLEMENTED);
    await this.containers.remove(name);
    await reply.status(204).send();
  }

  @Post('*')
  async postByName(@Req() req: FastifyRequest, @Query() q: Query, @Res() reply: FastifyReply): Promise<void> {
    const [name, action] = splitAction(req);
    switch (action) {
      case 'rename':
        await this.containers.rename(name, stringParam(q.name) ?? '');
        return reply.status(204).send();
      case 'start':
        await this.containers.refuseToStart(name);
        throw notSupported();
      case 'wait':
        await this.containers.resolve(name);
        throw notSupported();
      case 'attach':
        await this.containers.resolve(name);
        if (req.headers.upgrade) return endHijackedStream(reply);
        throw notSupported();
      default:
        if (!RUNTIME_POSTS.has(action)) throw new NotFoundException('page not found');
        await this.containers.resolve(name);
        throw notSupported();
    }
  }
}

/**
 * `docker run` and `docker start -a` attach before they start, and the CLI turns any answer to
 * its upgrade request other than 101 into "unable to upgrade to tcp, received 501", which hides
 * the reason. So the upgrade is granted and the stream ends at once (no output, as a container
 * that wrote nothing); the start that follows then answers why, and the CLI prints that.
 */
function endHijackedStream(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.socket?.end('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
}

/** `limit` as dockerd reads it (strconv.Atoi); absent or empty is no limit. */
function intParam(value: unknown): number | undefined {
  const raw = stringParam(value);
  if (raw === undefined || raw === '') return undefined;
  if (!/^[+-]?\d+$/.test(raw)) throw new BadRequestException(`strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}

/** The container from `/containers/<name>`, URL-decoded. */
function restOfPath(req: FastifyRequest): string {
  const raw = (req.params as Record<string, string>)['*'] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequestException(`invalid name or ID supplied: ${JSON.stringify(raw)}`);
  }
}

/** `/containers/<name>/<action>` → [name, action]. */
function splitAction(req: FastifyRequest): [string, string] {
  const rest = restOfPath(req);
  const slash = rest.lastIndexOf('/');
  return slash === -1 ? [rest, ''] : [rest.slice(0, slash), rest.slice(slash + 1)];
}
