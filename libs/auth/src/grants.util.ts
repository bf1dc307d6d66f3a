import { familiarName } from '@cargohold/oci';
import { InvalidScopeError } from './auth.errors';
import { ACTIONS, isAction } from './auth.types';
import type { Action, Principal, ScopeGrant } from './auth.types';
import { matchesRepositoryPattern, validateRepositoryPattern } from './repository-pattern.util';

/** The principal of every request while authentication is off. */
export const OPEN_PRINCIPAL: Readonly<Principal> = Object.freeze({
  kind: 'open',
  name: 'open',
  grants: [Object.freeze({ repository: '**', actions: ['admin'] })] as ScopeGrant[],
});

/** Every action on the whole service: what CARGOHOLD_ADMIN_TOKEN holds. */
export const ADMIN_GRANTS: readonly ScopeGrant[] = Object.freeze([Object.freeze({ repository: '**', actions: ['admin'] })]) as readonly ScopeGrant[];

function grantHas(grant: ScopeGrant, action: Action): boolean {
  return grant.actions.includes(action) || grant.actions.includes('admin');
}

/**
 * May the principal do `action` on this repository? Names are familiar (`app`, `team/app`); a
 * normalised `docker.io/…` name is turned into its familiar form first.
 */
export function allows(principal: Principal, repository: string, action: Action): boolean {
  if (principal.kind === 'open') return true;
  const name = familiarName(repository);
  return principal.grants.some((g) => grantHas(g, action) && matchesRepositoryPattern(g.repository, name));
}

/** The actions the principal may do on this repository, in ACTIONS order. */
export function allowedActions(principal: Principal, repository: string): Action[] {
  return ACTIONS.filter((action) => allows(principal, repository, action));
}

/** `action` on every repository there is or will be: a grant on `**`. */
export function allowsEverywhere(principal: Principal, action: Action): boolean {
  if (principal.kind === 'open') return true;
  return principal.grants.some((g) => g.repository === '**' && grantHas(g, action));
}

/** `action` on at least one repository pattern: for operations that touch no named repository. */
export function allowsSomewhere(principal: Principal, action: Action): boolean {
  if (principal.kind === 'open') return true;
  return principal.grants.some((g) => grantHas(g, action));
}

/**
 * Checks a token's scopes (a non-empty list of grants, each a valid pattern with a non-empty
 * list of known actions) and returns them tidied: actions deduplicated, in ACTIONS order.
 */
export function normaliseScopes(scopes: readonly ScopeGrant[]): ScopeGrant[] {
  if (!Array.isArray(scopes) || scopes.length === 0) throw new InvalidScopeError('a token needs at least one scope');
  return scopes.map((scope, index) => {
    const where = `scopes[${index}]`;
    if (typeof scope !== 'object' || scope === null) throw new InvalidScopeError(`${where}: expected { repository, actions }`);
    try {
      validateRepositoryPattern(scope.repository);
    } catch (error) {
      throw new InvalidScopeError(`${where}.repository: ${(error as Error).message}`);
    }
    const actions: unknown = scope.actions;
    if (!Array.isArray(actions) || actions.length === 0) throw new InvalidScopeError(`${where}.actions: name at least one of ${ACTIONS.join(', ')}`);
    const unknown = actions.filter((a) => !isAction(a));
    if (unknown.length) throw new InvalidScopeError(`${where}.actions: unknown action ${JSON.stringify(unknown[0])} (known: ${ACTIONS.join(', ')})`);
    return { repository: scope.repository, actions: ACTIONS.filter((a) => actions.includes(a)) };
  });
}
