/** Which of the gateway's APIs a request belongs to (the `api` label). */
export type ApiLabel = 'docker' | 'registry' | 'native' | 'other';

/** Route label of a request no route matched (Fastify's 404): the raw URL never becomes a label. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Status label of a response whose connection closed before its last byte was handed over (the
 * client went away mid-stream, or the server cut a stream after a failure): nginx's "client
 * closed request", since the status line the client may have seen says nothing about it.
 */
export const CLOSED_BEFORE_FINISH_STATUS = '499';

/**
 * Top-level resources of the Docker Engine API, as routed after the `/vX.Y` prefix is stripped.
 * Requests for the ones cargohold does not serve (`/networks`, `/volumes` …) are still Docker API
 * calls, answered 404 by the router.
 */
const DOCKER_RESOURCES = new Set([
  '_ping', 'auth', 'build', 'commit', 'configs', 'containers', 'distribution', 'events', 'exec', 'grpc', 'images', 'info',
  'networks', 'nodes', 'plugins', 'secrets', 'services', 'session', 'swarm', 'system', 'tasks', 'version', 'volumes',
]);

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The API a path belongs to: `/v2` is the OCI Distribution API, `/api/…` the native API, the
 * Docker Engine resources are `docker`, anything else (`/healthz`, `/readyz`, `/metrics`, junk)
 * is `other`. Takes a route pattern or a request path (its query is ignored).
 */
export function apiOf(path: string): ApiLabel {
  const end = path.search(/[?#]/);
  const clean = end === -1 ? path : path.slice(0, end);
  if (clean === '/v2' || clean.startsWith('/v2/')) return 'registry';
  if (clean === '/api' || clean.startsWith('/api/')) return 'native';
  return DOCKER_RESOURCES.has(clean.split('/')[1] ?? '') ? 'docker' : 'other';
}

/** The method label: one of the methods the gateway serves, else `other` (no label value from the wire). */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return METHODS.has(upper) ? upper : 'other';
}

type WildcardRefiner = (method: string, rest: string) => string | undefined;

const IMAGE_ACTIONS = new Set(['json', 'history', 'get', 'tag', 'push']);
const CONTAINER_ACTIONS = new Set([
  'json', 'logs', 'top', 'stats', 'export', 'changes', 'archive', 'start', 'stop', 'restart', 'kill', 'pause', 'unpause',
  'wait', 'attach', 'exec', 'resize', 'update', 'rename',
]);

/**
 * `DELETE <prefix>/<name>` and `<prefix>/<name>/<action>`, as the Docker API controllers split
 * them: a name may hold slashes, an action does not.
 */
function dockerObjectRoute(prefix: string, param: string, actions: ReadonlySet<string>): WildcardRefiner {
  return (method, rest) => {
    if (rest === '') return undefined;
    if (method === 'DELETE') return `${prefix}/:${param}`;
    const slash = rest.lastIndexOf('/');
    if (slash === -1) return `${prefix}/:${param}`;
    const action = rest.slice(slash + 1);
    return slash > 0 && actions.has(action) ? `${prefix}/:${param}/${action}` : undefined;
  };
}

// distribution-spec route shapes, matched from the right because repository names hold slashes.
const REGISTRY_SHAPES: Array<[RegExp, string]> = [
  [/^.+\/tags\/list$/, '/v2/:name/tags/list'],
  [/^.+\/manifests\/[^/]+$/, '/v2/:name/manifests/:reference'],
  [/^.+\/blobs\/uploads\/?$/, '/v2/:name/blobs/uploads/'],
  [/^.+\/blobs\/uploads\/[^/]+$/, '/v2/:name/blobs/uploads/:uuid'],
  [/^.+\/blobs\/[^/]+$/, '/v2/:name/blobs/:digest'],
  [/^.+\/referrers\/[^/]+$/, '/v2/:name/referrers/:digest'],
];

function registryRoute(_method: string, rest: string): string | undefined {
  if (rest === '') return '/v2/';
  if (rest === '_catalog') return '/v2/_catalog';
  return REGISTRY_SHAPES.find(([shape]) => shape.test(rest))?.[1];
}

/**
 * Catch-all routes whose wildcard holds a name with slashes (image references, repository
 * paths). Their Fastify pattern alone (`/v2/*`) would put manifests, blobs and uploads in one
 * series, so the wildcard is mapped onto one of a fixed set of templates; what fits none keeps
 * the bare pattern. Either way the label set is finite and holds no name or digest.
 */
const WILDCARD_ROUTES: Record<string, WildcardRefiner> = {
  '/images/*': dockerObjectRoute('/images', 'name', IMAGE_ACTIONS),
  '/containers/*': dockerObjectRoute('/containers', 'id', CONTAINER_ACTIONS),
  '/v2/*': registryRoute,
};

/**
 * The route label of a request: Fastify's route pattern (`/api/v1/tokens/:id`, `/images/json`),
 * a template for the catch-all routes (see WILDCARD_ROUTES), or UNMATCHED_ROUTE when no route
 * matched. `wildcard` is the `*` parameter as Fastify captured it.
 */
export function routeLabel(pattern: string | undefined, method: string, wildcard: string | undefined): string {
  if (pattern === undefined || pattern === '') return UNMATCHED_ROUTE;
  const refine = Object.hasOwn(WILDCARD_ROUTES, pattern) ? WILDCARD_ROUTES[pattern] : undefined;
  return refine?.(method.toUpperCase(), wildcard ?? '') ?? pattern;
}

export interface ResponseOutcome {
  statusCode: number;
  /** The response finished: every byte was handed to the operating system. */
  finished: boolean;
  /** The request asked to upgrade the connection (the Docker API's attach). */
  upgrade: boolean;
}

/**
 * The status label: the status sent, for a response that finished; 101 for an upgraded
 * connection (its handler writes the status line on the socket, past the response object);
 * CLOSED_BEFORE_FINISH_STATUS for anything else that closed early.
 */
export function statusLabel(outcome: ResponseOutcome): string {
  if (outcome.finished) return String(outcome.statusCode);
  return outcome.upgrade ? '101' : CLOSED_BEFORE_FINISH_STATUS;
}
