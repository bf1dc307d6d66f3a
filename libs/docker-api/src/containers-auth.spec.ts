import { describe, expect, it } from 'vitest';
import { dockerRouteNeeds } from './docker-auth.guard';

describe('dockerRouteNeeds for container routes', () => {
  const needs = (method: string, route: string, rest?: string, body?: unknown) => dockerRouteNeeds(method, route, { '*': rest }, {}, body);

  it('create needs pull on the image it pins (its repository, or any valid token for an ID)', () => {
    expect(needs('POST', '/containers/create', undefined, { Image: 'team/app:1', Cmd: ['sh'] })).toEqual([{ kind: 'image', input: 'team/app:1', action: 'pull' }]);
    expect(needs('POST', '/containers/create', undefined, { Image: `sha256:${'a'.repeat(64)}` })).toEqual([
      { kind: 'image', input: `sha256:${'a'.repeat(64)}`, action: 'pull' },
    ]);
  });

  it('create without an image still needs a valid token (the handler answers the 400)', () => {
    expect(needs('POST', '/containers/create', undefined, {})).toEqual([{ kind: 'signed-in' }]);
    expect(needs('POST', '/containers/create', undefined, undefined)).toEqual([{ kind: 'signed-in' }]);
    expect(needs('POST', '/containers/create', undefined, { Image: 42 })).toEqual([{ kind: 'signed-in' }]);
  });

  it('list, inspect, remove, start, attach and wait need any valid token', () => {
    expect(needs('GET', '/containers/json')).toEqual([{ kind: 'signed-in' }]);
    expect(needs('GET', '/containers/*', 'web/json')).toEqual([{ kind: 'signed-in' }]);
    expect(needs('DELETE', '/containers/*', 'web')).toEqual([{ kind: 'signed-in' }]);
    for (const action of ['start', 'attach', 'wait']) expect(needs('POST', '/containers/*', `web/${action}`)).toEqual([{ kind: 'signed-in' }]);
  });

  it('container prune needs any valid token, as docker rm does', () => {
    expect(needs('POST', '/containers/prune')).toEqual([{ kind: 'signed-in' }]);
  });
});
