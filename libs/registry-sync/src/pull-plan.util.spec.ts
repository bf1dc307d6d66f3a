import { describe, expect, it } from 'vitest';
import { InvalidReferenceError } from '@cargohold/oci';
import { familiarTarget, planPull, pullingFromId, ReservedNameError } from './pull-plan.util';

const digest = `sha256:${'a'.repeat(64)}`;
const other = `sha256:${'b'.repeat(64)}`;
const busybox = { name: 'docker.io/library/busybox', domain: 'docker.io', path: 'library/busybox' };
const local = { name: '127.0.0.1:5000/team/app', domain: '127.0.0.1:5000', path: 'team/app' };

describe('planPull (fromImage + tag as POST /images/create receives them)', () => {
  it('pulls a tag: the tag parameter, the tag in the image, or latest', () => {
    expect(planPull({ image: 'busybox', tag: 'latest' })).toEqual({ repository: busybox, targets: { kind: 'tag', tag: 'latest' } });
    expect(planPull({ image: 'busybox:1.36' })).toEqual({ repository: busybox, targets: { kind: 'tag', tag: '1.36' } });
    expect(planPull({ image: 'busybox:1.36', tag: '1.37' })).toEqual({ repository: busybox, targets: { kind: 'tag', tag: '1.37' } });
    expect(planPull({ image: 'busybox' })).toEqual({ repository: busybox, targets: { kind: 'tag', tag: 'latest' } });
    expect(planPull({ image: '127.0.0.1:5000/team/app', tag: 'v1' })).toEqual({ repository: local, targets: { kind: 'tag', tag: 'v1' } });
  });

  it('pulls a digest given as the tag, or in the image (where it wins over a tag)', () => {
    expect(planPull({ image: 'busybox', tag: digest })).toEqual({ repository: busybox, targets: { kind: 'digest', digest } });
    expect(planPull({ image: `busybox@${other}`, tag: digest })).toEqual({ repository: busybox, targets: { kind: 'digest', digest } });
    expect(planPull({ image: `busybox@${digest}` })).toEqual({ repository: busybox, targets: { kind: 'digest', digest } });
    expect(planPull({ image: `busybox@${digest}`, tag: 'latest' })).toEqual({ repository: busybox, targets: { kind: 'digest', digest, tag: 'latest' } });
    expect(planPull({ image: `busybox:1@${digest}` })).toEqual({ repository: busybox, targets: { kind: 'digest', digest, tag: '1' } });
  });

  it('pulls every tag with allTags and a bare name (the trailing `:` of `pull -a` is dropped)', () => {
    expect(planPull({ image: 'busybox', allTags: true })).toEqual({ repository: busybox, targets: 'all-tags' });
    expect(planPull({ image: 'busybox:', allTags: true })).toEqual({ repository: busybox, targets: 'all-tags' });
    expect(planPull({ image: 'busybox:1', allTags: true })).toEqual({ repository: busybox, targets: { kind: 'tag', tag: '1' } });
  });

  it('refuses what dockerd refuses', () => {
    expect(() => planPull({ image: 'Busybox' })).toThrow(InvalidReferenceError);
    expect(() => planPull({ image: 'busybox', tag: 'sha256:abc' })).toThrow('invalid tag format');
    expect(() => planPull({ image: 'scratch' })).toThrow(new ReservedNameError('scratch'));
  });
});

describe('how a target is shown', () => {
  it('Pulling from: the tag, or the full reference of a digest', () => {
    expect(pullingFromId(busybox, { kind: 'tag', tag: 'latest' })).toBe('latest');
    expect(pullingFromId(busybox, { kind: 'digest', digest })).toBe(`docker.io/library/busybox@${digest}`);
    expect(pullingFromId(local, { kind: 'digest', digest, tag: 'v1' })).toBe(`127.0.0.1:5000/team/app:v1@${digest}`);
  });

  it('Status lines: the familiar reference, the bare name for every tag', () => {
    expect(familiarTarget(busybox, { kind: 'tag', tag: 'latest' })).toBe('busybox:latest');
    expect(familiarTarget(busybox, 'all-tags')).toBe('busybox');
    expect(familiarTarget(local, { kind: 'digest', digest })).toBe(`127.0.0.1:5000/team/app@${digest}`);
  });
});
