import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessPolicy, allowsEverywhere, allowsSomewhere, parseAuthorization } from '@cargohold/auth';
import type { Action, Principal } from '@cargohold/auth';
import { ImageCatalogService, ImageReferencesRepository, parseImageLookup } from '@cargohold/image-store';
import { familiarName, parseReference } from '@cargohold/oci';
import { listParam, stringParam } from './query.util';

/**
 * What a Docker API request needs from its principal. Image arguments are kept as typed: an
 * image ID is only known to be one after looking at the store (a short hex string may be a
 * repository name).
 */
export type DockerRouteNeed =
  | { kind: 'signed-in' }
  | { kind: 'repository'; reference: string; action: Action }
  | { kind: 'image'; input: string; action: Action }
  | { kind: 'image-delete'; input: string }
  | { kind: 'everywhere'; action: Action }
  | { kind: 'somewhere'; action: Action }
  | { kind: 'admin' };

type Query = Record<string, unknown>;

const SIGNED_IN: DockerRouteNeed[] = [{ kind: 'signed-in' }];

/**
 * Route → needs, or null for the routes anyone may call (`/_ping`, `/version`: the CLI asks them
 * before anything else). Routes not listed here need admin on `**`, so a route added later is
 * closed until it is mapped.
 */
export function dockerRouteNeeds(method: string, route: string, params: Record<string, string | undefined>, query: Query, body?: unknown): DockerRouteNeed[] | null {
  const rest = decodePath(params['*'] ?? '');
  switch (`${method} ${route}`) {
    case 'GET /_ping':
    case 'HEAD /_ping':
    case 'GET /version':
      return null;
    case 'GET /info':
    case 'GET /images/json':
    case 'POST /auth':
      return SIGNED_IN;
    case 'GET /images/get': {
      const names = listParam(query.names);
      return names.length ? names.map((input) => ({ kind: 'image', input, action: 'pull' })) : SIGNED_IN;
    }
    case 'POST /images/load':
      // An archive may hold images of any repository: only known once read, by then too late to refuse.
      return [{ kind: 'everywhere', action: 'push' }];
    case 'POST /images/create': {
      const target = stringParam(query.fromImage) || stringParam(query.repo);
      return target ? [{ kind: 'repository', reference: target, action: 'push' }] : [{ kind: 'somewhere', action: 'push' }];
    }
    case 'GET /images/*': {
      const [name, action] = splitAction(rest);
      return action === 'json' || action === 'history' || action === 'get' ? [{ kind: 'image', input: name, action: 'pull' }] : SIGNED_IN;
    }
    case 'POST /images/*': {
      const [name, action] = splitAction(rest);
      if (action === 'tag') {
        return [
          { kind: 'image', input: name, action: 'pull' },
          { kind: 'repository', reference: stringParam(query.repo) ?? '', action: 'push' },
        ];
      }
      // Pushing reads the local repository; the remote registry judges the write itself.
      if (action === 'push') return [{ kind: 'repository', reference: name, action: 'pull' }];
      return SIGNED_IN;
    }
    case 'DELETE /images/*':
      return [{ kind: 'image-delete', input: rest }];
    case 'POST /containers/create': {
      // A container pins its image: creating one reads the image, like inspect does.
      const image = (body as { Image?: unknown } | null | undefined)?.Image;
      return typeof image === 'string' && image ? [{ kind: 'image', input: image, action: 'pull' }] : SIGNED_IN;
    }
    // Containers pin images and hold nothing else: pruning them is as open as `docker rm`.
    case 'GET /containers/json':
    case 'GET /containers/*':
    case 'POST /containers/*':
    case 'DELETE /containers/*':
    case 'POST /containers/prune':
      return SIGNED_IN;
    case 'GET /system/df':
      return SIGNED_IN;
    // Prunes remove images of any repository.
    case 'POST /images/prune':
    case 'POST /build/prune':
      return [{ kind: 'everywhere', action: 'delete' }];
    case 'POST /build': {
      const tags = listParam(query.t);
      return tags.length ? tags.map((reference) => ({ kind: 'repository', reference, action: 'build' })) : [{ kind: 'somewhere', action: 'build' }];
    }
    default:
      return [{ kind: 'admin' }];
  }
}

/** As ImagesController decodes it; a malformed escape is left for the handler to refuse. */
function decodePath(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** `<name>/<action>` → [name, action], as ImagesController splits it. */
function splitAction(rest: string): [string, string] {
  const slash = rest.lastIndexOf('/');
  return slash === -1 ? [rest, ''] : [rest.slice(0, slash), rest.slice(slash + 1)];
}

/** The familiar repository of a reference, or undefined when docker would refuse the name. */
function repositoryOf(reference: string): string | undefined {
  try {
    return familiarName(parseReference(reference).name);
  } catch {
    return undefined;
  }
}

const VERBS: Record<Action, string> = { pull: 'pull from', push: 'push to', delete: 'delete from', build: 'build into', admin: 'administer' };

/**
 * With CARGOHOLD_AUTH=on, every Docker Engine API route but `/_ping` and `/version` takes
 * `Authorization: Bearer <API token>` (the docker CLI sends it from `HttpHeaders` in its
 * config.json) with the scope the route needs. Refusals are dockerd's `{"message"}` errors and
 * happen before the handler runs, so a refused request changes nothing.
 */
@Injectable()
export class DockerAuthGuard implements CanActivate {
  constructor(
    private readonly policy: AccessPolicy,
    private readonly catalog: ImageCatalogService,
    private readonly refs: ImageReferencesRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.policy.enabled) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const needs = dockerRouteNeeds(request.method, request.routeOptions.url ?? '', request.params as Record<string, string | undefined>, request.query as Query, request.body);
    if (needs === null) return true;
    const principal = await this.authenticate(request);
    for (const need of needs) {
      const refusal = await this.refusal(principal, need, request);
      if (refusal) throw new ForbiddenException(`access denied: ${principalLabel(principal)} ${refusal}`);
    }
    return true;
  }

  private async authenticate(request: FastifyRequest): Promise<Principal> {
    const auth = parseAuthorization(request.headers.authorization);
    if (auth?.scheme !== 'bearer') {
      throw new UnauthorizedException(
        'authentication required: send "Authorization: Bearer <API token>" (for the docker CLI, put it under "HttpHeaders" in config.json)',
      );
    }
    const principal = await this.policy.authenticate(auth.token);
    if (!principal) throw new UnauthorizedException('the bearer token is not valid: unknown, expired or revoked');
    return principal;
  }

  /** Why the principal may not do this, or undefined when it may. */
  private async refusal(principal: Principal, need: DockerRouteNeed, request: FastifyRequest): Promise<string | undefined> {
    switch (need.kind) {
      case 'signed-in':
        return undefined;
      case 'repository':
        // A name docker refuses passes on: the handler answers it with dockerd's 400.
        return this.refuseOn(principal, repositoryOf(need.reference), need.action);
      case 'image': {
        const repository = await this.imageRepository(need.input);
        // By image ID (content-addressed): any valid token, as for `docker image ls`.
        return repository === null ? undefined : this.refuseOn(principal, repository, need.action);
      }
      case 'image-delete':
        return this.deleteRefusal(principal, need.input);
      case 'everywhere':
        return allowsEverywhere(principal, need.action) ? undefined : `may not ${VERBS[need.action]} every repository ("**"), which this request needs`;
      case 'somewhere':
        return allowsSomewhere(principal, need.action) ? undefined : `holds no ${need.action} scope`;
      case 'admin':
        return this.policy.canAdminister(principal)
          ? undefined
          : `may not call ${request.method} ${request.routeOptions.url ?? request.url}: routes without a scope mapping take the admin action on "**"`;
    }
  }

  private refuseOn(principal: Principal, repository: string | undefined, action: Action): string | undefined {
    if (repository === undefined || this.policy.can(principal, repository, action)) return undefined;
    return `may not ${VERBS[action]} repository "${repository}"`;
  }

  /**
   * The familiar repository an image argument names; null when it names an image by ID (or ID
   * prefix: dockerd's rule is that a short hex string is a repository only while something is
   * tagged under it); undefined when it is not a valid argument at all.
   */
  private async imageRepository(input: string): Promise<string | null | undefined> {
    let lookup: ReturnType<typeof parseImageLookup>;
    try {
      lookup = parseImageLookup(input);
    } catch {
      return undefined;
    }
    if (lookup.kind === 'id') return null;
    const { ref } = lookup;
    if (lookup.idPrefix) {
      const named = ref.digest ? await this.refs.findDigest(ref.name, ref.digest) : await this.refs.findTag(ref.name, ref.tag ?? 'latest');
      if (!named) return null;
    }
    return familiarName(ref.name);
  }

  /**
   * By name: delete on that repository. By ID, removal may untag the image everywhere it is
   * referenced: delete on each of those repositories, or (for an image nothing references) a
   * delete scope somewhere.
   */
  private async deleteRefusal(principal: Principal, input: string): Promise<string | undefined> {
    const repository = await this.imageRepository(input);
    if (repository !== null) return this.refuseOn(principal, repository, 'delete');
    let imageId: string;
    try {
      imageId = (await this.catalog.resolve(input)).id;
    } catch {
      return undefined; // no such image: the handler answers dockerd's 404
    }
    const references = (await this.refs.referencesOf([imageId])).get(imageId) ?? [];
    const repositories = [...new Set(references.map((r) => familiarName(r.repository)))];
    if (!repositories.length) return allowsSomewhere(principal, 'delete') ? undefined : 'holds no delete scope';
    for (const name of repositories) {
      const refusal = this.refuseOn(principal, name, 'delete');
      if (refusal) return refusal;
    }
    return undefined;
  }
}

function principalLabel(principal: Principal): string {
  switch (principal.kind) {
    case 'admin':
      return 'the admin token';
    case 'token':
      return `the token "${principal.name}"`;
    case 'anonymous':
    case 'open':
      return principal.name;
  }
}
