import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { ApiTokenService } from './api-token.service';
import { InvalidRegistryTokenError } from './auth.errors';
import { ACTIONS, isAction } from './auth.types';
import type { Action, Principal, ScopeGrant } from './auth.types';
import { allowedActions, allowsEverywhere } from './grants.util';
import { familiarRepository } from './repository-pattern.util';
import { ServiceSecretStore } from './service-secret.store';

/** Issuer and audience of every registry token: cargohold issues them for itself. */
export const REGISTRY_TOKEN_ISSUER = 'cargohold';
/** Name of the shared HS256 key in the service_secret table. */
export const REGISTRY_TOKEN_KEY = 'registry-token-key';
/** Allowed clock difference between replicas when checking exp/nbf/iat. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** One `scope` the client asked for (distribution token spec, "resource scope"). */
export type RequestedScope =
  | { type: 'repository'; name: string; actions: Array<Action | '*'> }
  | { type: 'registry'; name: 'catalog'; actions: ['*'] };

/** One entry of the token's `access` claim, as in the distribution token spec. */
export type AccessEntry = { type: 'repository'; name: string; actions: Action[] } | { type: 'registry'; name: 'catalog'; actions: ['*'] };

/** The token endpoint's JSON answer (both names of the token, as registries send them). */
export interface IssuedRegistryToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

/**
 * `scope` query parameters → requested scopes. Each value may hold several scopes separated by
 * spaces; the format is `<type>[(class)]:<name>:<action>[,<action>…]` where the name may itself
 * contain `:` (a registry host's port). Unknown types, unknown actions and malformed scopes are
 * dropped, as the spec lets a token server do; `registry:catalog:*` is kept.
 */
export function parseScopeParam(scope: string | string[] | undefined): RequestedScope[] {
  const values = scope === undefined ? [] : Array.isArray(scope) ? scope : [scope];
  const out: RequestedScope[] = [];
  for (const item of values.flatMap((v) => v.split(' ')).filter(Boolean)) {
    const first = item.indexOf(':');
    const last = item.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    const type = item.slice(0, first).replace(/\(.*\)$/, '');
    const name = item.slice(first + 1, last);
    const actions = item.slice(last + 1).split(',').filter(Boolean);
    if (!name) continue;
    if (type === 'repository') {
      const known = actions.filter((a): a is Action | '*' => a === '*' || isAction(a));
      if (known.length) out.push({ type: 'repository', name, actions: [...new Set(known)] });
    } else if (type === 'registry' && name === 'catalog' && actions.includes('*')) {
      out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
    }
  }
  return out;
}

/**
 * The access a principal gets out of what it asked for: per repository, the requested actions
 * it is allowed (`*` = all it is allowed); the catalog only for a principal that may pull
 * everything. Entries with nothing granted are left out; repeated names are merged.
 */
export function grantedAccess(principal: Principal, requested: readonly RequestedScope[]): AccessEntry[] {
  const repositories = new Map<string, Set<Action>>();
  let catalog = false;
  for (const scope of requested) {
    if (scope.type === 'registry') {
      catalog ||= principal.catalog === true || allowsEverywhere(principal, 'pull');
      continue;
    }
    let familiar: string;
    try {
      familiar = familiarRepository(scope.name);
    } catch {
      continue; // not a repository name at all: nothing to grant
    }
    const allowed = allowedActions(principal, familiar);
    const wanted = scope.actions.includes('*') ? allowed : allowed.filter((a) => scope.actions.includes(a));
    const granted = repositories.get(scope.name) ?? new Set<Action>();
    for (const action of wanted) granted.add(action);
    repositories.set(scope.name, granted);
  }
  const access: AccessEntry[] = [];
  for (const [name, actions] of repositories) {
    if (actions.size) access.push({ type: 'repository', name, actions: ACTIONS.filter((a) => actions.has(a)) });
  }
  if (catalog) access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
  return access;
}

interface RegistryTokenClaims {
  access?: unknown;
  kind?: unknown;
  token_id?: unknown;
}

/**
 * Bearer tokens for the registry API (distribution "token authentication"): short-lived HS256
 * JWTs carrying exactly the access granted, signed with a key all gateway replicas share.
 */
@Injectable()
export class RegistryTokenService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly secrets: ServiceSecretStore,
    private readonly apiTokens: ApiTokenService,
  ) {}

  parseScopeParam(scope: string | string[]): RequestedScope[] {
    return parseScopeParam(scope);
  }

  /** A token for the intersection of what was requested and what the principal may do. */
  async issue(principal: Principal, requested: readonly RequestedScope[]): Promise<IssuedRegistryToken> {
    const access = grantedAccess(principal, requested);
    const issuedAt = Math.floor(Date.now() / 1000);
    const ttl = this.config.auth.tokenTtlSeconds;
    const claims: RegistryTokenClaims = { access, kind: principal.kind };
    if (principal.tokenId) claims.token_id = principal.tokenId;
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(REGISTRY_TOKEN_ISSUER)
      .setAudience(REGISTRY_TOKEN_ISSUER)
      .setSubject(principal.name)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + ttl)
      .setJti(randomUUID())
      .sign(await this.key());
    return { token, access_token: token, expires_in: ttl, issued_at: new Date(issuedAt * 1000).toISOString() };
  }

  /**
   * The principal a registry token stands for, with exactly the token's access as its grants.
   * Throws InvalidRegistryTokenError for a bad signature, an expired token, another issuer or
   * audience, or a token issued for an API token revoked since.
   */
  async verify(jwt: string): Promise<Principal> {
    let payload: RegistryTokenClaims & { sub?: string };
    try {
      ({ payload } = await jwtVerify<RegistryTokenClaims>(jwt, await this.key(), {
        issuer: REGISTRY_TOKEN_ISSUER,
        audience: REGISTRY_TOKEN_ISSUER,
        algorithms: ['HS256'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw new InvalidRegistryTokenError(describeJoseError(error), { cause: error });
    }
    const principal = principalFromClaims(payload);
    await this.assertStillValid(principal);
    return principal;
  }

  /** What the token was issued on must still hold: a live API token, the current auth setting. */
  private async assertStillValid(principal: Principal): Promise<void> {
    switch (principal.kind) {
      case 'token':
        if (!(principal.tokenId && (await this.apiTokens.isLive(principal.tokenId)))) {
          throw new InvalidRegistryTokenError('the API token this registry token was issued for has been revoked or has expired');
        }
        return;
      case 'admin':
        if (!this.config.auth.adminToken) throw new InvalidRegistryTokenError('the registry token was issued for CARGOHOLD_ADMIN_TOKEN, which is no longer set');
        return;
      case 'open':
        // An `open` principal may do anything: never honour one issued before auth was turned on.
        if (this.config.auth.enabled) throw new InvalidRegistryTokenError('the registry token was issued while authentication was off');
        return;
      case 'anonymous':
        return;
    }
  }

  private key(): Promise<Buffer> {
    return this.secrets.get(REGISTRY_TOKEN_KEY);
  }
}

function principalFromClaims(payload: RegistryTokenClaims & { sub?: string }): Principal {
  const kind = payload.kind;
  if (kind !== 'token' && kind !== 'admin' && kind !== 'anonymous' && kind !== 'open') {
    throw new InvalidRegistryTokenError('the registry token does not say whom it was issued to');
  }
  if (!Array.isArray(payload.access)) throw new InvalidRegistryTokenError('the registry token has no access claim');
  const grants: ScopeGrant[] = [];
  let catalog = false;
  for (const entry of payload.access as unknown[]) {
    const { type, name, actions } = (entry ?? {}) as { type?: unknown; name?: unknown; actions?: unknown };
    if (type === 'registry' && name === 'catalog') catalog = true;
    if (type !== 'repository' || typeof name !== 'string' || !Array.isArray(actions)) continue;
    let familiar: string;
    try {
      familiar = familiarRepository(name);
    } catch {
      continue;
    }
    // Familiar names hold no `*`, so the name is a pattern matching exactly that repository.
    grants.push({ repository: familiar, actions: actions.filter(isAction) });
  }
  const principal: Principal = { kind, name: payload.sub ?? '', grants };
  if (typeof payload.token_id === 'string') principal.tokenId = payload.token_id;
  if (catalog) principal.catalog = true;
  return principal;
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the registry token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the registry token was not issued for this registry (${error.claim} claim)`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the registry token signature does not verify';
  return `the registry token is not valid: ${error instanceof Error ? error.message : String(error)}`;
}
