import { describe, expect, it } from 'vitest';
import { apiOf, CLOSED_BEFORE_FINISH_STATUS, methodLabel, routeLabel, statusLabel, UNMATCHED_ROUTE } from './http-labels.util';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('apiOf', () => {
  it('puts /v2 and everything under it in the registry API', () => {
    for (const path of ['/v2', '/v2/', '/v2/*', '/v2/token', '/v2/team/app/manifests/1', '/v2/_catalog?n=10']) expect(apiOf(path), path).toBe('registry');
  });

  it('puts /api/… in the native API', () => {
    for (const path of ['/api/v1/tokens', '/api/v1/tokens/:id', '/api/v1/openapi.json', '/api']) expect(apiOf(path), path).toBe('native');
  });

  it('puts the Docker Engine resources in the docker API, served or not', () => {
    for (const path of ['/_ping', '/version', '/info', '/images/json', '/images/*', '/images/load', '/build', '/auth', '/containers/create', '/system/df', '/networks', '/volumes/prune?x=1']) {
      expect(apiOf(path), path).toBe('docker');
    }
  });

  it('calls everything else other', () => {
    for (const path of ['/metrics', '/healthz', '/readyz', '/', '/favicon.ico', '/v2x/foo', '/apis', '/imagesx']) expect(apiOf(path), path).toBe('other');
  });
});

describe('routeLabel', () => {
  it('keeps a Fastify route pattern as it is', () => {
    expect(routeLabel('/images/json', 'GET', undefined)).toBe('/images/json');
    expect(routeLabel('/api/v1/tokens/:id', 'DELETE', undefined)).toBe('/api/v1/tokens/:id');
    expect(routeLabel('/v2/token', 'GET', undefined)).toBe('/v2/token');
    expect(routeLabel('/metrics', 'GET', undefined)).toBe('/metrics');
  });

  it('labels a request no route matched without its URL', () => {
    expect(routeLabel(undefined, 'GET', undefined)).toBe(UNMATCHED_ROUTE);
    expect(routeLabel('', 'GET', undefined)).toBe(UNMATCHED_ROUTE);
  });

  it('maps the image catch-all onto its operations, whatever the name holds', () => {
    const cases: Array<[string, string, string]> = [
      ['GET', 'busybox/json', '/images/:name/json'],
      ['GET', '127.0.0.1:5000/team/app:1/json', '/images/:name/json'],
      ['GET', `app@${DIGEST}/history`, '/images/:name/history'],
      ['GET', 'app/get', '/images/:name/get'],
      ['POST', 'team/app:1/tag', '/images/:name/tag'],
      ['POST', 'localhost:5000/app/push', '/images/:name/push'],
      ['DELETE', 'team/app:1', '/images/:name'],
      ['DELETE', DIGEST, '/images/:name'],
      // A name that ends like an action is still a name when deleting.
      ['DELETE', 'team/json', '/images/:name'],
      ['GET', 'nope', '/images/:name'],
    ];
    for (const [method, rest, label] of cases) expect(routeLabel('/images/*', method, rest), `${method} ${rest}`).toBe(label);
  });

  it('keeps the bare catch-all for shapes it does not know (the label set stays finite)', () => {
    expect(routeLabel('/images/*', 'GET', 'team/app/whatever')).toBe('/images/*');
    expect(routeLabel('/images/*', 'GET', '/json')).toBe('/images/*');
    expect(routeLabel('/images/*', 'GET', '')).toBe('/images/*');
    expect(routeLabel('/images/*', 'GET', undefined)).toBe('/images/*');
    expect(routeLabel('/containers/*', 'POST', `abc/${DIGEST}`)).toBe('/containers/*');
  });

  it('maps the container catch-all onto its operations', () => {
    expect(routeLabel('/containers/*', 'GET', 'web/json')).toBe('/containers/:id/json');
    expect(routeLabel('/containers/*', 'POST', `${'c'.repeat(64)}/start`)).toBe('/containers/:id/start');
    expect(routeLabel('/containers/*', 'POST', 'web/attach')).toBe('/containers/:id/attach');
    expect(routeLabel('/containers/*', 'DELETE', 'web')).toBe('/containers/:id');
  });

  it('maps the registry catch-all onto the distribution-spec routes', () => {
    const cases: Array<[string, string, string]> = [
      ['GET', '', '/v2/'],
      ['GET', '_catalog', '/v2/_catalog'],
      ['GET', 'team/app/tags/list', '/v2/:name/tags/list'],
      ['GET', 'app/manifests/latest', '/v2/:name/manifests/:reference'],
      ['HEAD', `ghcr.io/team/app/manifests/${DIGEST}`, '/v2/:name/manifests/:reference'],
      ['PUT', 'a/b/c/d/manifests/v1.2', '/v2/:name/manifests/:reference'],
      ['GET', `app/blobs/${DIGEST}`, '/v2/:name/blobs/:digest'],
      ['DELETE', `app/blobs/${encodeURIComponent(DIGEST)}`, '/v2/:name/blobs/:digest'],
      ['POST', 'team/app/blobs/uploads/', '/v2/:name/blobs/uploads/'],
      ['POST', 'team/app/blobs/uploads', '/v2/:name/blobs/uploads/'],
      ['PATCH', 'team/app/blobs/uploads/6f1c8d0e-3d4b-4c55-9a0b-6f6f7c1e2d3a', '/v2/:name/blobs/uploads/:uuid'],
      ['GET', `app/referrers/${DIGEST}`, '/v2/:name/referrers/:digest'],
      // A repository may be called `blobs` or `manifests`: the route is found from the right.
      ['GET', 'blobs/manifests/1', '/v2/:name/manifests/:reference'],
      ['GET', `manifests/blobs/${DIGEST}`, '/v2/:name/blobs/:digest'],
    ];
    for (const [method, rest, label] of cases) expect(routeLabel('/v2/*', method, rest), `${method} ${rest}`).toBe(label);
    expect(routeLabel('/v2/*', 'GET', 'app/not-a-route')).toBe('/v2/*');
    expect(routeLabel('/v2/*', 'GET', `manifests/${DIGEST}`)).toBe('/v2/*');
  });

  it('never puts a name or a digest into a label', () => {
    const names = ['busybox', 'team/app:1', `app@${DIGEST}`, DIGEST, 'x'.repeat(300)];
    const suffixes = ['', '/json', '/history', '/get', '/tag', '/push', '/start', '/manifests/1', `/blobs/${DIGEST}`, '/blobs/uploads/', '/tags/list', '/zzz'];
    const labels = new Set<string>();
    for (const pattern of ['/images/*', '/containers/*', '/v2/*']) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        for (const name of names) for (const suffix of suffixes) labels.add(routeLabel(pattern, method, `${name}${suffix}`));
      }
    }
    for (const label of labels) {
      expect(label).not.toMatch(/sha256|busybox|team|app|xxx|zzz/);
      expect(label).toMatch(/^\/(images|containers|v2)(\/(:[a-z]+|[a-z_]+))*\/?(\*)?$/);
    }
    expect(labels.size).toBeLessThan(30);
  });
});

describe('methodLabel', () => {
  it('keeps the methods the gateway serves and folds anything else', () => {
    expect(methodLabel('GET')).toBe('GET');
    expect(methodLabel('patch')).toBe('PATCH');
    expect(methodLabel('PROPFIND')).toBe('other');
    expect(methodLabel('M-SEARCH')).toBe('other');
  });
});

describe('statusLabel', () => {
  it('is the status sent when the response finished', () => {
    expect(statusLabel({ statusCode: 200, finished: true, upgrade: false })).toBe('200');
    expect(statusLabel({ statusCode: 404, finished: true, upgrade: false })).toBe('404');
    expect(statusLabel({ statusCode: 101, finished: true, upgrade: true })).toBe('101');
  });

  it('is 499 for a response cut before its end, whatever status it started with', () => {
    expect(statusLabel({ statusCode: 200, finished: false, upgrade: false })).toBe(CLOSED_BEFORE_FINISH_STATUS);
    expect(CLOSED_BEFORE_FINISH_STATUS).toBe('499');
  });

  it('is 101 for an upgraded connection, whose status line bypasses the response object', () => {
    expect(statusLabel({ statusCode: 200, finished: false, upgrade: true })).toBe('101');
  });
});
