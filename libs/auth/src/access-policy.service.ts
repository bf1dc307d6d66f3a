import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenException, Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { parseAuthorization } from './authorization-header.util';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { ApiTokenService } from './api-token.service';
import type { Action, Principal, ScopeGrant } from './auth.types';
import { ADMIN_GRANTS, allows, allowsEverywhere } from './grants.util';
import { validateRepositoryPattern } from './repository-pattern.util';

/**
 * Who may do what. Authentication: the admin token (CARGOHOLD_ADMIN_TOKEN) or an API token.
 * Authorisation: a principal's grants, matched against familiar repository names.
 */
@Injectable()
export class AccessPolicy {
  private readonly anonymousPrincipal: Principal;
  private readonly adminTokenDigest: Buffer | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly apiTokens: ApiTokenService,
  ) {
    this.anonymousPrincipal = Object.freeze({ kind: 'anonymous', name: 'anonymous', grants: anonymousGrants(config.auth.anonymousPull) });
    this.adminTokenDigest = config.auth.adminToken === undefined ? undefined : sha256(config.auth.adminToken);
    if (!config.auth.enabled) {
      new Logger('Auth').warn(
        'authentication is OFF: every request is allowed; set CARGOHOLD_AUTH=on (with CARGOHOLD_ADMIN_TOKEN to create the first API tokens) before exposing this service',
      );
    }
  }

  get enabled(): boolean {
    return this.config.auth.enabled;
  }

  /** A request without credentials: pull on the CARGOHOLD_ANONYMOUS_PULL patterns, nothing else. */
  anonymous(): Principal {
    return this.anonymousPrincipal;
  }

  /** May the principal do `action` on the repository (familiar name: `app`, `team/app`)? */
  can(principal: Principal, repositoryFamiliar: string, action: Action): boolean {
    return allows(principal, repositoryFamiliar, action);
  }

  /** Managing tokens takes `admin` on `**`. */
  canAdminister(principal: Principal): boolean {
    return allowsEverywhere(principal, 'admin');
  }

  /**
   * Listing every repository (the registry catalog) takes pull on `**`, or a registry token
   * granted `registry:catalog:*`.
   */
  canListCatalog(principal: Principal): boolean {
    return principal.catalog === true || allowsEverywhere(principal, 'pull');
  }

  /**
   * The gate of everything that manages the installation (the native API, /metrics): with
   * authentication on, an `Authorization: Bearer` secret holding `admin` on `**`. Throws 401
   * without a valid one and 403 naming `task` ("manage API tokens") for a token without admin.
   */
  async requireAdministrator(authorization: string | undefined, task: string): Promise<void> {
    if (!this.enabled) return;
    const auth = parseAuthorization(authorization);
    if (auth?.scheme !== 'bearer') throw new UnauthorizedException('authentication required: send Authorization: Bearer <API token>');
    const principal = await this.authenticate(auth.token);
    if (!principal) throw new UnauthorizedException('the bearer token is not valid: unknown, expired or revoked');
    if (!this.canAdminister(principal)) throw new ForbiddenException(`the token "${principal.name}" may not ${task}: that takes the admin action on "**"`);
  }

  /** The principal a secret stands for (admin token or live API token), or null. */
  async authenticate(secret: string): Promise<Principal | null> {
    if (!secret) return null;
    if (this.adminTokenDigest && timingSafeEqual(sha256(secret), this.adminTokenDigest)) {
      return { kind: 'admin', name: 'admin', grants: ADMIN_GRANTS.map((g) => ({ ...g, actions: [...g.actions] })) };
    }
    const principal = await this.apiTokens.authenticate(secret);
    // What anyone may pull, a signed-in client may pull too (docker login must not lose it).
    return principal ? { ...principal, grants: [...principal.grants, ...this.anonymousPrincipal.grants] } : null;
  }
}

/** Pull on each CARGOHOLD_ANONYMOUS_PULL pattern; a bad pattern stops the boot, naming the variable. */
function anonymousGrants(patterns: readonly string[]): ScopeGrant[] {
  return patterns.map((repository) => {
    try {
      return { repository: validateRepositoryPattern(repository), actions: ['pull'] };
    } catch (error) {
      throw new Error(`CARGOHOLD_ANONYMOUS_PULL: ${(error as Error).message}`, { cause: error });
    }
  });
}

// Comparing fixed-length digests keeps the comparison's time independent of the secret's length too.
function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
