import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Controller, Delete, Get, Head, Inject, Patch, Post, Put, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { isDigest, isSha256Digest } from '@cargohold/oci';
import { BLOB_STORE, type BlobDigest, type BlobStore, RangeNotSatisfiableError } from '@cargohold/storage';
import { BlobUploadsService, parseUploadRange, requireDigest } from './blob-uploads.service';
import { ManifestsService } from './manifests.service';
import { RegistryAccess } from './registry-access.service';
import { RegistryErrorFilter } from './registry-error.filter';
import { RegistryApiError, blobUnknown, nameUnknown, uploadUnknown } from './registry-errors';
import { paginate, parsePageQuery } from './registry-pagination.util';
import { type RegistryRoute, isUploadId, parseRegistryPath, registryPathOf, repositoryOf } from './registry-route.util';
import { RegistryRepository } from './registry.repository';

type Query = Record<string, string | string[] | undefined>;
type Route<K extends RegistryRoute['kind']> = Extract<RegistryRoute, { kind: K }>;

const API_VERSION_HEADER = 'docker-distribution-api-version';
const EMPTY_INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function pathOf(req: FastifyRequest): string {
  const url = req.url;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The request body as a stream (the streaming parsers hand it over unread). */
function bodyStream(req: FastifyRequest): Readable {
  const body = req.body as unknown;
  if (body instanceof Readable) return body;
  return req.raw as IncomingMessage;
}

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

async function readBody(req: FastifyRequest, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyStream(req) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RegistryApiError('SIZE_INVALID', `manifest is larger than the limit of ${limit} bytes`, { limit }, 413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** distribution's upload `Range` header: the bytes received, inclusive (`0-0` before any). */
function uploadRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function byteRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return { start, end };
}

/**
 * The OCI Distribution API (distribution-spec v1.1) on the gateway. Repository names may hold
 * slashes, so each verb takes `/v2/*` and the route is parsed from the path (see
 * parseRegistryPath); every handler checks access before it reads or changes anything.
 */
@Controller('v2')
@UseFilters(RegistryErrorFilter)
export class RegistryController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly registry: RegistryRepository,
    private readonly manifests: ManifestsService,
    private readonly uploads: BlobUploadsService,
    private readonly access: RegistryAccess,
  ) {}

  @Get()
  async base(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.access.requireSignedIn(req);
    this.send(reply, 200, {});
  }

  @Get('token')
  async token(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const issued = await this.access.issueToken(req, req.query as Query);
    void reply.status(200).header('cache-control', 'no-store').header('content-type', 'application/json').send(JSON.stringify(issued));
  }

  @Get('*')
  async get(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const route = this.route(req);
    const query = req.query as Query;
    switch (route.kind) {
      case 'base':
        return this.base(req, reply);
      case 'catalog':
        return this.catalog(req, reply, query);
      case 'tags':
        return this.tags(req, reply, route, query);
      case 'manifest':
        return this.getManifest(req, reply, route, false);
      case 'blob':
        return this.getBlob(req, reply, route, false);
      case 'upload':
        return this.uploadStatus(req, reply, route);
      case 'referrers':
        return this.referrers(req, reply, route, query);
    }
  }

  @Head('*')
  async head(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const route = this.route(req);
    if (route.kind === 'manifest') return this.getManifest(req, reply, route, true);
    if (route.kind === 'blob') return this.getBlob(req, reply, route, true);
    throw new RegistryApiError('UNSUPPORTED', 'the operation is unsupported', { method: 'HEAD' });
  }

  @Put('*')
  async put(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const route = this.route(req);
    if (route.kind === 'manifest') return this.putManifest(req, reply, route);
    if (route.kind === 'upload' && route.uuid) return this.completeUpload(req, reply, route, req.query as Query);
    throw new RegistryApiError('UNSUPPORTED', 'the operation is unsupported', { method: 'PUT' });
  }

  @Post('*')
  async post(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const route = this.route(req);
    if (route.kind === 'upload' && !route.uuid) return this.startUpload(req, reply, route, req.query as Query);
    throw new RegistryApiError('UNSUPPORTED', 'the operation is unsupported', { method: 'POST' });
  }

  @Patch('*')
  async patch(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const route = this.route(req);
    if (route.kind === 'upload' && route.uuid) return this.appendChunk(req, reply, route);
    throw new RegistryApiError('UNSUPPORTED', 'the operation is unsupported', { method: 'PATCH' });
  }

  @Delete('*')
  async delete(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const route = this.route(req);
    if (route.kind === 'upload' && route.uuid) {
      await this.access.require(req, route.name, ['push']);
      const session = await this.session(route);
      await this.uploads.cancel(session);
      return this.send(reply, 204);
    }
    if (route.kind !== 'manifest' && route.kind !== 'blob') throw new RegistryApiError('UNSUPPORTED', 'the operation is unsupported', { method: 'DELETE' });
    await this.access.require(req, route.name, ['delete']);
    if (!this.config.registryApi.deleteEnabled) throw new RegistryApiError('UNSUPPORTED', 'the operation is unsupported: deletes are disabled (CARGOHOLD_REGISTRY_DELETE=false)');
    const repositoryId = await this.registry.repositoryId(repositoryOf(route.name));
    if (route.kind === 'manifest') {
      await this.manifests.delete(repositoryId, route.reference);
    } else {
      if (!isDigest(route.digest)) throw new RegistryApiError('DIGEST_INVALID', 'provided digest did not match uploaded content', { digest: route.digest });
      if (repositoryId === null || !(await this.registry.unlinkBlob(repositoryId, route.digest))) throw blobUnknown(route.digest);
    }
    this.send(reply, 202);
  }

  private route(req: FastifyRequest): RegistryRoute {
    const route = parseRegistryPath(pathOf(req));
    if (!route) throw new RegistryApiError('UNSUPPORTED', 'the operation is unsupported', { path: pathOf(req) }, 404);
    if ('name' in route) repositoryOf(route.name);
    return route;
  }

  private send(reply: FastifyReply, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    reply.status(status).header(API_VERSION_HEADER, 'registry/2.0');
    for (const [name, value] of Object.entries(headers)) reply.header(name, value);
    if (body === undefined) {
      // HEAD answers announce the length of what GET would send.
      if (!('content-length' in headers)) reply.header('content-length', '0');
      void reply.send();
      return;
    }
    void reply.header('content-type', 'application/json').send(JSON.stringify(body));
  }

  private async catalog(req: FastifyRequest, reply: FastifyReply, query: Query): Promise<void> {
    const principal = await this.access.requireSignedIn(req, ['registry:catalog:*']);
    const page = parsePageQuery(query);
    const everything = this.access.canListCatalog(principal);
    const names = (await this.registry.repositoriesWithManifests())
      .map((name) => registryPathOf(name))
      .filter((path): path is string => path !== null && (everything || this.access.can(principal, path, 'pull')));
    const { items, link } = paginate([...new Set(names)].sort(), page, '/v2/_catalog');
    this.send(reply, 200, { repositories: items }, link ? { link } : {});
  }

  private async tags(req: FastifyRequest, reply: FastifyReply, route: Route<'tags'>, query: Query): Promise<void> {
    await this.access.require(req, route.name, ['pull']);
    const page = parsePageQuery(query);
    const repositoryId = await this.registry.repositoryId(repositoryOf(route.name));
    if (repositoryId === null) throw nameUnknown(route.name);
    const tags = await this.registry.tags(repositoryId, page.n === undefined ? 100_000 : page.n + 1, page.last);
    const { items, link } = paginate(tags, { n: page.n }, `/v2/${route.name}/tags/list`);
    this.send(reply, 200, { name: route.name, tags: items }, link ? { link } : {});
  }

  private async getManifest(req: FastifyRequest, reply: FastifyReply, route: Route<'manifest'>, headOnly: boolean): Promise<void> {
    await this.access.require(req, route.name, ['pull']);
    const repositoryId = await this.registry.repositoryId(repositoryOf(route.name));
    const manifest = await this.manifests.get(repositoryId, route.reference);
    const accept = (req.headers.accept ?? '').split(',').map((t) => t.split(';')[0].trim().toLowerCase()).filter(Boolean);
    if (accept.length > 0 && !accept.includes('*/*') && !accept.includes(manifest.mediaType)) {
      throw new RegistryApiError('MANIFEST_UNKNOWN', `manifest unknown: it is a ${manifest.mediaType}, which the Accept header does not list`, { reference: route.reference });
    }
    reply
      .status(200)
      .header(API_VERSION_HEADER, 'registry/2.0')
      .header('content-type', manifest.mediaType)
      .header('content-length', String(manifest.bytes.length))
      .header('docker-content-digest', manifest.digest)
      .header('etag', `"${manifest.digest}"`);
    void reply.send(headOnly ? undefined : manifest.bytes);
  }

  private async putManifest(req: FastifyRequest, reply: FastifyReply, route: Route<'manifest'>): Promise<void> {
    await this.access.require(req, route.name, ['push']);
    const repository = repositoryOf(route.name);
    const bytes = await readBody(req, this.manifests.maxBytes);
    const result = await this.manifests.put(repository, route.reference, bytes, req.headers['content-type']);
    const headers: Record<string, string> = { location: `/v2/${route.name}/manifests/${result.digest}`, 'docker-content-digest': result.digest };
    if (result.subject) headers['oci-subject'] = result.subject;
    this.send(reply, 201, undefined, headers);
  }

  private async getBlob(req: FastifyRequest, reply: FastifyReply, route: Route<'blob'>, headOnly: boolean): Promise<void> {
    await this.access.require(req, route.name, ['pull']);
    if (!isSha256Digest(route.digest)) {
      throw new RegistryApiError(isDigest(route.digest) ? 'BLOB_UNKNOWN' : 'DIGEST_INVALID', isDigest(route.digest) ? 'blob unknown to registry' : 'invalid digest', { digest: route.digest }, isDigest(route.digest) ? 404 : 400);
    }
    const digest = route.digest as BlobDigest;
    const repositoryId = await this.registry.repositoryId(repositoryOf(route.name));
    if (repositoryId === null || !(await this.registry.blobLinked(repositoryId, digest))) throw blobUnknown(digest);
    const info = await this.blobs.stat(digest);
    if (!info) throw blobUnknown(digest);
    if (!headOnly && this.config.registryApi.redirectBlobs) {
      const url = await this.blobs.presignedGetUrl(digest, 20 * 60);
      if (url) return this.send(reply, 307, undefined, { location: url, 'docker-content-digest': digest });
    }
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'docker-content-digest': digest,
      'accept-ranges': 'bytes',
      etag: `"${digest}"`,
      'cache-control': 'max-age=31536000',
    };
    const range = headOnly ? null : byteRange(req.headers.range, info.size);
    if (range && (range.start > range.end || range.start >= info.size)) {
      void reply.status(416).header(API_VERSION_HEADER, 'registry/2.0').header('content-range', `bytes */${info.size}`).send();
      return;
    }
    if (headOnly) return this.send(reply, 200, undefined, { ...headers, 'content-length': String(info.size) });
    let stream: Readable;
    try {
      stream = await this.blobs.get(digest, range ?? undefined);
    } catch (error) {
      if (!(error instanceof RangeNotSatisfiableError)) throw error;
      return this.send(reply, 416, undefined, { 'content-range': `bytes */${info.size}` });
    }
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`;
      headers['content-length'] = String(range.end - range.start + 1);
    } else headers['content-length'] = String(info.size);
    await this.pipeBlob(reply, range ? 206 : 200, headers, stream);
  }

  /**
   * Streams a blob straight onto the socket, past Fastify's reply pipeline (a third more
   * throughput for large blobs, see bench:registry). A read failure mid-way cuts the connection,
   * so the client sees a short body rather than a complete-looking wrong one.
   */
  private async pipeBlob(reply: FastifyReply, status: number, headers: Record<string, string>, stream: Readable): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(status, { ...headers, [API_VERSION_HEADER]: 'registry/2.0' });
    try {
      await pipeline(stream, res);
    } catch {
      res.destroy();
    }
  }

  private async startUpload(req: FastifyRequest, reply: FastifyReply, route: Route<'upload'>, query: Query): Promise<void> {
    await this.access.require(req, route.name, ['pull', 'push']);
    const repository = repositoryOf(route.name);
    const mount = first(query.mount);
    if (mount !== undefined) {
      const mounted = await this.mount(req, repository, mount, first(query.from));
      if (mounted) {
        return this.send(reply, 201, undefined, { location: `/v2/${route.name}/blobs/${mount}`, 'docker-content-digest': mount });
      }
    }
    const digest = first(query.digest);
    if (digest !== undefined && mount === undefined) {
      const blobDigest = requireDigest(digest);
      const length = req.headers['content-length'];
      await this.uploads.putMonolithic(repository, blobDigest, bodyStream(req), length === undefined ? undefined : Number(length));
      return this.send(reply, 201, undefined, { location: `/v2/${route.name}/blobs/${blobDigest}`, 'docker-content-digest': blobDigest });
    }
    const repositoryId = await this.registry.ensureRepository(repository);
    const session = await this.uploads.start(repositoryId);
    if (hasBody(req)) bodyStream(req).resume();
    this.send(reply, 202, undefined, this.sessionHeaders(route.name, session.id, session.size));
  }

  /** Cross-repository mount: the blob must be in `from` (or, without it, any repository the caller may pull). */
  private async mount(req: FastifyRequest, repository: string, digest: string, from: string | undefined): Promise<boolean> {
    if (!isSha256Digest(digest)) return false;
    const candidates = from !== undefined ? [from] : (await this.registry.repositoriesWithBlob(digest)).map((n) => registryPathOf(n)).filter((p): p is string => p !== null);
    const principal = await this.access.principalOf(req);
    for (const path of candidates) {
      let source: string;
      try {
        source = repositoryOf(path);
      } catch {
        continue;
      }
      if (!principal || !this.access.can(principal, path, 'pull')) continue;
      const sourceId = await this.registry.repositoryId(source);
      if (sourceId === null || !(await this.registry.blobLinked(sourceId, digest))) continue;
      const info = await this.blobs.stat(digest as BlobDigest);
      if (!info) continue;
      await this.registry.linkBlob(repository, digest, info.size);
      return true;
    }
    return false;
  }

  private async session(route: Route<'upload'>) {
    const uuid = route.uuid ?? '';
    if (!isUploadId(uuid)) throw uploadUnknown(uuid);
    const repositoryId = await this.registry.repositoryId(repositoryOf(route.name));
    if (repositoryId === null) throw uploadUnknown(uuid);
    return this.uploads.session(uuid, repositoryId);
  }

  private sessionHeaders(name: string, uuid: string, size: number): Record<string, string> {
    return { location: `/v2/${name}/blobs/uploads/${uuid}`, range: uploadRange(size), 'docker-upload-uuid': uuid };
  }

  private async uploadStatus(req: FastifyRequest, reply: FastifyReply, route: Route<'upload'>): Promise<void> {
    await this.access.require(req, route.name, ['push']);
    const session = await this.session(route);
    this.send(reply, 204, undefined, this.sessionHeaders(route.name, session.id, session.size));
  }

  private async appendChunk(req: FastifyRequest, reply: FastifyReply, route: Route<'upload'>): Promise<void> {
    await this.access.require(req, route.name, ['push']);
    const session = await this.session(route);
    const range = parseUploadRange(first(req.headers['content-range']));
    const next = await this.uploads.append(session, bodyStream(req), range);
    this.send(reply, 202, undefined, this.sessionHeaders(route.name, next.id, next.size));
  }

  private async completeUpload(req: FastifyRequest, reply: FastifyReply, route: Route<'upload'>, query: Query): Promise<void> {
    await this.access.require(req, route.name, ['push']);
    const session = await this.session(route);
    const digest = requireDigest(first(query.digest));
    await this.uploads.complete(repositoryOf(route.name), session, digest, hasBody(req) ? bodyStream(req) : null);
    this.send(reply, 201, undefined, { location: `/v2/${route.name}/blobs/${digest}`, 'docker-content-digest': digest });
  }

  private async referrers(req: FastifyRequest, reply: FastifyReply, route: Route<'referrers'>, query: Query): Promise<void> {
    await this.access.require(req, route.name, ['pull']);
    if (!isDigest(route.digest)) throw new RegistryApiError('DIGEST_INVALID', 'invalid digest', { digest: route.digest });
    const repositoryId = await this.registry.repositoryId(repositoryOf(route.name));
    const rows = repositoryId === null ? [] : await this.registry.referrers(repositoryId, route.digest);
    const artifactType = first(query.artifactType);
    const manifests = rows
      .map((row) => {
        const parsed = JSON.parse(row.content) as { annotations?: Record<string, string> };
        return {
          mediaType: row.mediaType,
          digest: row.digest,
          size: row.size,
          artifactType: row.artifactType ?? row.configMediaType ?? undefined,
          ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
        };
      })
      .filter((d) => artifactType === undefined || d.artifactType === artifactType);
    reply.status(200).header(API_VERSION_HEADER, 'registry/2.0').header('content-type', EMPTY_INDEX_TYPE);
    if (artifactType !== undefined) reply.header('oci-filters-applied', 'artifactType');
    void reply.send(JSON.stringify({ schemaVersion: 2, mediaType: EMPTY_INDEX_TYPE, manifests }));
  }
}
