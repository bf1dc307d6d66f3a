import { describe, expect, it } from 'vitest';
import { ManifestError, parseManifest } from './manifest';
import { MediaType } from './media-types';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifest,
  config: { mediaType: MediaType.DockerConfig, digest: D1, size: 1469 },
  layers: [{ mediaType: MediaType.DockerLayerGzip, digest: D2, size: 2_000_000 }],
};

function errorOf(bytes: Buffer, contentType?: string): string {
  try {
    parseManifest(bytes, contentType);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as Error).message;
  }
  throw new Error('expected the manifest to be refused');
}

describe('parseManifest', () => {
  it('parses a Docker schema2 manifest', () => {
    const parsed = parseManifest(json(dockerManifest));
    expect(parsed.kind).toBe('manifest');
    if (parsed.kind !== 'manifest') return;
    expect(parsed.mediaType).toBe(MediaType.DockerManifest);
    expect(parsed.config.digest).toBe(D1);
    expect(parsed.layers).toHaveLength(1);
    expect(parsed.layers[0].size).toBe(2_000_000);
  });

  it('parses an OCI manifest with subject, artifactType and annotations, keeping unknown fields', () => {
    const parsed = parseManifest(
      json({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: 'application/vnd.example+type',
        config: { mediaType: MediaType.OciEmpty, digest: D1, size: 2, data: 'e30=' },
        layers: [{ mediaType: 'application/vnd.example.thing', digest: D2, size: 10, 'x-extra': 1 }],
        subject: { mediaType: MediaType.OciManifest, digest: D3, size: 100 },
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      }),
    );
    if (parsed.kind !== 'manifest') throw new Error('expected a manifest');
    expect(parsed.artifactType).toBe('application/vnd.example+type');
    expect(parsed.subject?.digest).toBe(D3);
    expect(parsed.annotations).toEqual({ 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' });
    expect((parsed.layers[0] as unknown as Record<string, unknown>)['x-extra']).toBe(1);
  });

  it('parses a manifest list with platforms', () => {
    const parsed = parseManifest(
      json({
        schemaVersion: 2,
        mediaType: MediaType.DockerManifestList,
        manifests: [
          { mediaType: MediaType.DockerManifest, digest: D1, size: 500, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: MediaType.DockerManifest, digest: D2, size: 500, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        ],
      }),
    );
    if (parsed.kind !== 'index') throw new Error('expected an index');
    expect(parsed.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm']);
  });

  it('takes the media type from the Content-Type when the body has none', () => {
    const body = { schemaVersion: 2, manifests: [{ mediaType: MediaType.OciManifest, digest: D1, size: 1 }] };
    expect(parseManifest(json(body), `${MediaType.OciIndex}; charset=utf-8`).mediaType).toBe(MediaType.OciIndex);
    const inferred = parseManifest(json(body));
    expect(inferred.kind).toBe('index');
    expect(inferred.mediaType).toBe(MediaType.OciIndex);
    const { mediaType: _omit, ...bare } = dockerManifest;
    expect(parseManifest(json(bare)).mediaType).toBe(MediaType.OciManifest);
    expect(parseManifest(json(bare), MediaType.DockerManifest).mediaType).toBe(MediaType.DockerManifest);
  });

  it('refuses schema1', () => {
    expect(errorOf(json({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }))).toMatch(
      /^schema1 manifests are not supported: /,
    );
    expect(errorOf(json(dockerManifest), MediaType.DockerSchema1SignedManifest)).toMatch(/^schema1 manifests are not supported/);
    expect(errorOf(json({ ...dockerManifest, mediaType: MediaType.DockerSchema1Manifest }))).toMatch(/schema1/);
  });

  it('names the offending field', () => {
    expect(errorOf(json({ ...dockerManifest, config: { ...dockerManifest.config, digest: 'sha256:abc' } }))).toMatch(
      /config\.digest: invalid checksum digest length/,
    );
    expect(errorOf(json({ ...dockerManifest, layers: [{ mediaType: 'x', digest: D2 }] }))).toMatch(/layers\[0\]\.size/);
    const { layers: _layers, ...noLayers } = dockerManifest;
    expect(errorOf(json(noLayers))).toMatch(/layers: /);
    expect(errorOf(json({ ...dockerManifest, schemaVersion: 3 }))).toMatch(/schemaVersion/);
    expect(errorOf(json({ ...dockerManifest, layers: [{ mediaType: 'x', digest: D2, size: -1 }] }))).toMatch(
      /layers\[0\]\.size/,
    );
  });

  it('refuses what is not a manifest', () => {
    expect(errorOf(Buffer.from('{nope'))).toMatch(/^invalid manifest: not valid JSON/);
    expect(errorOf(Buffer.from('[]'))).toBe('invalid manifest: expected a JSON object');
    expect(errorOf(json({ ...dockerManifest, mediaType: 'text/plain' }))).toBe('unsupported manifest media type "text/plain"');
    expect(errorOf(json(dockerManifest), MediaType.OciManifest)).toMatch(/does not match Content-Type/);
  });
});
