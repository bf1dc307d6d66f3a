import { describe, expect, it } from 'vitest';
import type { ImageReference } from './image-references.repository';
import { isImageIdPrefix, isSingleReference } from './image-removal.service';

const tag = (repository: string, t: string): ImageReference => ({ kind: 'tag', repository, repositoryId: 1, tag: t, updatedAt: 0 });
const dig = (repository: string): ImageReference => ({ kind: 'digest', repository, repositoryId: 1, digest: 'sha256:' + 'a'.repeat(64) });

describe('isSingleReference', () => {
  it('is false with no references and true with exactly one', () => {
    expect(isSingleReference([])).toBe(false);
    expect(isSingleReference([tag('docker.io/library/a', '1')])).toBe(true);
  });
  it('allows one tag plus digests of the same repository', () => {
    expect(isSingleReference([tag('docker.io/library/a', '1'), dig('docker.io/library/a')])).toBe(true);
  });
  it('is false for two tags or references in two repositories', () => {
    expect(isSingleReference([tag('docker.io/library/a', '1'), tag('docker.io/library/a', '2')])).toBe(false);
    expect(isSingleReference([tag('docker.io/library/a', '1'), dig('docker.io/library/b')])).toBe(false);
  });
});

describe('isImageIdPrefix', () => {
  const id = 'sha256:' + 'abcdef'.padEnd(64, '0');
  it('matches short and long IDs with or without the algorithm', () => {
    expect(isImageIdPrefix(id, 'abcdef')).toBe(true);
    expect(isImageIdPrefix(id, 'sha256:abc')).toBe(true);
    expect(isImageIdPrefix(id, 'busybox')).toBe(false);
  });
});
