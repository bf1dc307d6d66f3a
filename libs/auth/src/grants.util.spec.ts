import { describe, expect, it } from 'vitest';
import type { Principal } from './auth.types';
import { allowedActions, allows, allowsEverywhere, allowsSomewhere, normaliseScopes, OPEN_PRINCIPAL } from './grants.util';

const token = (grants: Principal['grants']): Principal => ({ kind: 'token', tokenId: 't', name: 'ci', grants });

describe('allows', () => {
  const ci = token([
    { repository: 'team/*', actions: ['pull', 'push'] },
    { repository: 'app', actions: ['delete'] },
    { repository: 'ops/**', actions: ['admin'] },
  ]);

  it('grants the named actions on matching repositories only', () => {
    expect(allows(ci, 'team/web', 'push')).toBe(true);
    expect(allows(ci, 'team/web', 'delete')).toBe(false);
    expect(allows(ci, 'team/a/b', 'pull')).toBe(false);
    expect(allows(ci, 'app', 'delete')).toBe(true);
    expect(allows(ci, 'app', 'pull')).toBe(false);
  });

  it('admin implies every action on matching repositories', () => {
    for (const action of ['pull', 'push', 'delete', 'build', 'admin'] as const) expect(allows(ci, 'ops/a/b', action)).toBe(true);
    expect(allows(ci, 'opsx/a', 'pull')).toBe(false);
  });

  it('reads normalised docker.io names as their familiar form', () => {
    expect(allows(ci, 'docker.io/library/app', 'delete')).toBe(true);
    expect(allows(ci, 'docker.io/team/web', 'pull')).toBe(true);
  });

  it('lets an open principal do anything and a grantless one nothing', () => {
    expect(allows(OPEN_PRINCIPAL, 'anything/at/all', 'admin')).toBe(true);
    expect(allows(token([]), 'app', 'pull')).toBe(false);
  });

  it('lists the allowed actions in canonical order', () => {
    expect(allowedActions(ci, 'team/web')).toEqual(['pull', 'push']);
    expect(allowedActions(ci, 'ops/x')).toEqual(['pull', 'push', 'delete', 'build', 'admin']);
    expect(allowedActions(ci, 'nope')).toEqual([]);
  });
});

describe('allowsEverywhere / allowsSomewhere', () => {
  it('everywhere needs a grant on ** itself', () => {
    expect(allowsEverywhere(token([{ repository: '**', actions: ['push'] }]), 'push')).toBe(true);
    expect(allowsEverywhere(token([{ repository: '**', actions: ['admin'] }]), 'push')).toBe(true);
    expect(allowsEverywhere(token([{ repository: '*', actions: ['push'] }]), 'push')).toBe(false);
    expect(allowsEverywhere(token([{ repository: '**', actions: ['pull'] }]), 'push')).toBe(false);
  });

  it('somewhere needs the action on any pattern', () => {
    expect(allowsSomewhere(token([{ repository: 'x', actions: ['push'] }]), 'push')).toBe(true);
    expect(allowsSomewhere(token([{ repository: 'x', actions: ['pull'] }]), 'push')).toBe(false);
  });
});

describe('normaliseScopes', () => {
  it('deduplicates actions into canonical order', () => {
    expect(normaliseScopes([{ repository: 'a', actions: ['push', 'pull', 'push'] }])).toEqual([{ repository: 'a', actions: ['pull', 'push'] }]);
  });

  it('refuses empty lists, unknown actions and bad patterns, naming the place', () => {
    expect(() => normaliseScopes([])).toThrow('at least one scope');
    expect(() => normaliseScopes([{ repository: 'a', actions: [] }])).toThrow('scopes[0].actions: name at least one');
    expect(() => normaliseScopes([{ repository: 'a', actions: ['pull'] }, { repository: 'b', actions: ['fly' as never] }])).toThrow(
      'scopes[1].actions: unknown action "fly"',
    );
    expect(() => normaliseScopes([{ repository: 'a:1', actions: ['pull'] }])).toThrow('scopes[0].repository: invalid repository pattern "a:1"');
  });
});
