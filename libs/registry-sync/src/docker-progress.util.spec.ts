import { describe, expect, it } from 'vitest';
import { auxMessage, humanSize, layerProgressId, progressBar, progressCounts, progressUpdate, statusMessage } from './docker-progress.util';

describe('humanSize (go-units HumanSize)', () => {
  it.each([
    [0, '0B'],
    [1, '1B'],
    [999, '999B'],
    [1000, '1kB'],
    [1024, '1.024kB'],
    [1_000_000, '1MB'],
    [1_048_576, '1.049MB'],
    [2_109_440, '2.109MB'],
    [3.42e9, '3.42GB'],
    [5.372e12, '5.372TB'],
    [999_950, '1000kB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(humanSize(bytes)).toBe(text);
  });
});

describe('progressBar (JSONProgress.String as the daemon renders it)', () => {
  // The long (200-column) cases of moby's TestProgressString.
  it('matches moby\'s own expectations', () => {
    expect(progressBar(0, 0)).toBe('');
    expect(progressBar(1, 0)).toBe('      1B');
    expect(progressBar(50, 100)).toBe('[=========================>                         ]      50B/100B');
    expect(progressBar(50, 40)).toBe('[==================================================>]      50B');
  });

  it('fills one mark per 2% and rounds down', () => {
    expect(progressBar(0, 100)).toBe(`[>${' '.repeat(50)}]       0B/100B`);
    expect(progressBar(3, 100)).toBe(`[=>${' '.repeat(49)}]       3B/100B`);
    expect(progressBar(2_109_440, 2_109_440)).toBe(`[${'='.repeat(50)}>]  2.109MB/2.109MB`);
  });
});

describe('progress lines', () => {
  it('are shaped as dockerd writes them', () => {
    expect(layerProgressId('sha256:08e13f621531f3b9d2c1e0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5')).toBe('08e13f621531');
    expect(statusMessage('Pulling from library/busybox', 'latest')).toEqual({ status: 'Pulling from library/busybox', id: 'latest' });
    expect(JSON.stringify(statusMessage('Digest: sha256:abc'))).toBe('{"status":"Digest: sha256:abc"}');
    expect(JSON.stringify(progressUpdate('08e13f621531', 'Pulling fs layer'))).toBe('{"status":"Pulling fs layer","progressDetail":{},"id":"08e13f621531"}');
    expect(JSON.stringify(progressCounts('08e13f621531', 'Downloading', 50, 100))).toBe(
      '{"status":"Downloading","progressDetail":{"current":50,"total":100},"progress":"[=========================>                         ]      50B/100B","id":"08e13f621531"}',
    );
    expect(JSON.stringify(auxMessage({ Tag: '1', Digest: 'sha256:abc', Size: 527 }))).toBe('{"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:abc","Size":527}}');
  });

  it('omit zero counts and an empty bar, as Go does', () => {
    expect(progressCounts('x', 'Downloading', 0, 0)).toEqual({ status: 'Downloading', progressDetail: {}, id: 'x' });
  });
});
