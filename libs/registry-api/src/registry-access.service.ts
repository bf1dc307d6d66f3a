import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessPolicy, type Action, type IssuedRegistryToken, type Principal, RegistryTokenService, familiarRepository, parseAuthorization } from '@cargohold/auth';
import { RegistryApiError } from './registry-errors';

/** The token endpoint's path; the `realm` of every challenge points at it. */
export const TOKEN_PATH = '/v2/token';
export const TOKEN_SERVICE = 'cargohold';

type Query = Record<string, string | string[] | undefined>;

/**
 * Who is calling the registry API and what they may do there. Clients authenticate as they do
 * with any registry: the `WWW-Authenticate: Bearer` challenge and the token endpoint (docker
 * login, skopeo --creds, buildah), or directly with `Basic <any user>:<API token>` or
 * `Bearer <API token>` (CI scripts). A refusal never changes anything: it happens before the
 * handler reads its body.
 */
@Injectable()
export class RegistryAccess {
  constructor(
    private readonly policy: AccessPolicy,
    private readonly tokens: RegistryTokenService,
  ) {}

  /** The caller, or null when the credentials sent are not valid. No credentials: anonymous. */
  async principalOf(req: FastifyRequest): Promise<Principal | null> {
    if (!this.policy.enabled) return { kind: 'open', name: 'open', grants: [] };
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') return this.policy.anonymous();
    const auth = parseAuthorization(header);
    // Credentials that cannot even be read are wrong credentials, not none.
    if (!auth) return null;
    if (auth.scheme === 'basic') return this.policy.authenticate(auth.password);
    // A registry token from our token endpoint, or an API token sent as is.
    if (auth.token.split('.').length === 3) return this.tokens.verify(auth.token).catch(() => null);
    return this.policy.authenticate(auth.token);
  }

  can(principal: Principal, registryPath: string, action: Action): boolean {
    if (principal.kind === 'open') return true;
    return this.policy.can(principal, familiarRepository(registryPath), action);
  }

  /** `/v2/` itself and the catalog: any valid credentials (anonymous only where auth is off). */
  async requireSignedIn(req: FastifyRequest, scopes: string[] = []): Promise<Principal> {
    const principal = await this.principalOf(req);
    if (!principal || principal.kind === 'anonymous') throw this.challenge(req, scopes, principal === null);
    return principal;
  }

  /** The whole catalog (pull on `**`, or a registry token granted `registry:catalog:*`); else only what the caller may pull. */
  canListCatalog(principal: Principal): boolean {
    return principal.kind === 'open' || this.policy.canListCatalog(principal);
  }

  /** Throws 401 (with the challenge a client can answer) or 403 unless every action is allowed. */
  async require(req: FastifyRequest, registryPath: string, actions: Action[]): Promise<Principal> {
    const principal = await this.principalOf(req);
    const scope = `repository:${registryPath}:${actions.join(',')}`;
    if (!principal) throw this.challenge(req, [scope], true);
    const denied = actions.filter((action) => !this.can(principal, registryPath, action));
    if (denied.length === 0) return principal;
    if (principal.kind === 'anonymous') throw this.challenge(req, [scope], false);
    throw new RegistryApiError('DENIED', 'requested access to the resource is denied', { repository: registryPath, denied, principal: principal.name });
  }

  /** `GET /v2/token`: Basic credentials (or none, for anonymous pulls) in, a bearer token out. */
  async issueToken(req: FastifyRequest, query: Query): Promise<IssuedRegistryToken> {
    let principal: Principal | null;
    if (!this.policy.enabled) principal = { kind: 'open', name: 'open', grants: [] };
    else {
      const auth = parseAuthorization(req.headers.authorization);
      const header = req.headers.authorization;
      if (header === undefined || header.trim() === '') principal = this.policy.anonymous();
      else if (!auth) principal = null;
      else principal = await this.policy.authenticate(auth.scheme === 'basic' ? auth.password : auth.token);
    }
    if (!principal) {
      const error = new RegistryApiError('UNAUTHORIZED', 'authentication required: the credentials are not valid', undefined);
      error.headers['www-authenticate'] = `Basic realm="${TOKEN_SERVICE}"`;
      throw error;
    }
    return this.tokens.issue(principal, this.tokens.parseScopeParam(query.scope ?? []));
  }

  private challenge(req: FastifyRequest, scopes: string[], invalid: boolean): RegistryApiError {
    const realm = `${req.protocol}://${req.headers.host ?? 'localhost'}${TOKEN_PATH}`;
    const parts = [`realm="${realm}"`, `service="${TOKEN_SERVICE}"`];
    if (scopes.length) parts.push(`scope="${scopes.join(' ')}"`);
    if (invalid) parts.push('error="invalid_token"');
    const error = new RegistryApiError('UNAUTHORIZED', invalid ? 'authentication required: the credentials are not valid' : 'authentication required', scopes.length ? { scopes } : undefined);
    error.headers['www-authenticate'] = `Bearer ${parts.join(',')}`;
    return error;
  }
}
