import { describe, expect, it } from 'vitest';
import { parseRepoTag } from './image-name.util';

describe('parseRepoTag', () => {
  it.each([
    ['busybox', 'busybox', 'latest', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'busybox', '1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox:1', 'busybox', '1', 'docker.io/library/busybox:1'],
    ['docker.io/team/app:v2', 'team/app', 'v2', 'docker.io/team/app:v2'],
    ['index.docker.io/team/app:v2', 'team/app', 'v2', 'docker.io/team/app:v2'],
    ['localhost:5000/a/b:c', 'localhost:5000/a/b', 'c', 'localhost:5000/a/b:c'],
    ['localhost/app', 'localhost/app', 'latest', 'localhost/app:latest'],
    ['registry.example:5000/team/bb:v1', 'registry.example:5000/team/bb', 'v1', 'registry.example:5000/team/bb:v1'],
    ['a__b/c--d.e:T_1', 'a__b/c--d.e', 'T_1', 'docker.io/a__b/c--d.e:T_1'],
  ])('%s → familiar %s, tag %s, full %s', (input, familiarName, tag, fullName) => {
    expect(parseRepoTag(input)).toEqual({ familiarName, tag, fullName });
  });

  it.each(['Busybox:1', 'busybox@sha256:' + 'a'.repeat(64), 'bad name:1', 'busybox:-x', 'a//b:1'])('refuses %s', (input) => {
    expect(() => parseRepoTag(input)).toThrow(/fixture repo tag/);
  });
});
