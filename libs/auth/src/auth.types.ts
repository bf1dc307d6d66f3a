/** What a token may do to a repository. `admin` implies every other action there. */
export type Action = 'pull' | 'push' | 'delete' | 'build' | 'admin';

/** Every action, in the order they are shown and stored. */
export const ACTIONS: readonly Action[] = ['pull', 'push', 'delete', 'build', 'admin'];

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value);
}

/** Actions granted on every repository whose familiar name matches `repository` (a pattern). */
export interface ScopeGrant {
  /** Exact familiar name (`app`, `team/app`, `127.0.0.1:5000/x`); `*` = any characters but `/`; `**` = anything. */
  repository: string;
  actions: Action[];
}

/**
 * Who is asking. `open`: authentication is off, everything is allowed. `admin`: the
 * CARGOHOLD_ADMIN_TOKEN. `anonymous`: no credentials (CARGOHOLD_ANONYMOUS_PULL applies).
 */
export interface Principal {
  kind: 'token' | 'admin' | 'anonymous' | 'open';
  /** The API token's id, for `token` principals. */
  tokenId?: string;
  /** For messages and logs: the token's name, `admin`, `anonymous`, `open`. */
  name: string;
  grants: ScopeGrant[];
  /**
   * Set on principals from a registry bearer token that was granted `registry:catalog:*`
   * (the registry API's `/v2/_catalog`); see AccessPolicy.canListCatalog.
   */
  catalog?: boolean;
}
