import { describe, expect, it } from 'vitest';
import type { Change } from './changes';
import { planLayer } from './layer-plan';

function plan(changes: Change[]): string[] {
  return planLayer(changes).map((item) => `${item.whiteout ? 'whiteout' : item.replaced ? 'replaced' : 'entry'} ${item.path}`);
}

describe('planLayer', () => {
  it('adds every parent directory of a change, sorted parents first', () => {
    expect(plan([{ path: '/usr/local/bin/tool', kind: 'add' }, { path: '/etc/motd', kind: 'modify' }])).toEqual([
      'entry etc',
      'entry etc/motd',
      'entry usr',
      'entry usr/local',
      'entry usr/local/bin',
      'entry usr/local/bin/tool',
    ]);
  });

  it('turns deletions into whiteouts with their parents', () => {
    expect(plan([{ path: '/var/cache/apt/pkgcache.bin', kind: 'delete' }])).toEqual(['entry var', 'entry var/cache', 'entry var/cache/apt', 'whiteout var/cache/apt/pkgcache.bin']);
  });

  it('drops whiteouts inside a deleted or replaced directory', () => {
    expect(plan([{ path: '/a', kind: 'delete' }, { path: '/a/b', kind: 'delete' }])).toEqual(['whiteout a']);
    expect(plan([{ path: '/d', kind: 'delete' }, { path: '/d', kind: 'add' }, { path: '/d/old', kind: 'delete' }, { path: '/d/new', kind: 'add' }])).toEqual(['replaced d', 'entry d/new']);
  });

  it('treats a deleted directory that still holds changes as replaced', () => {
    expect(plan([{ path: '/d', kind: 'delete' }, { path: '/d/x', kind: 'add' }])).toEqual(['replaced d', 'entry d/x']);
  });

  it('accepts paths with or without the leading slash, once each', () => {
    expect(plan([{ path: 'a/b', kind: 'add' }, { path: '/a/b', kind: 'modify' }])).toEqual(['entry a', 'entry a/b']);
  });

  it('refuses the root and paths that climb out', () => {
    expect(() => planLayer([{ path: '/', kind: 'modify' }])).toThrow(/does not name a file inside the root/);
    expect(() => planLayer([{ path: '../etc', kind: 'add' }])).toThrow(/does not name a file inside the root/);
  });
});
