import { describe, expect, it } from 'vitest';
import { isForeignLayerMediaType, isLayerMediaType, layerCompression, MediaType } from './media-types';

describe('media types', () => {
  it('knows each layer type and its compression', () => {
    expect(layerCompression(MediaType.DockerLayerGzip)).toBe('gzip');
    expect(layerCompression(MediaType.DockerLayer)).toBe('none');
    expect(layerCompression(MediaType.OciLayer)).toBe('none');
    expect(layerCompression(MediaType.OciLayerZstd)).toBe('zstd');
    expect(layerCompression(MediaType.DockerConfig)).toBeNull();
    expect(isLayerMediaType(MediaType.OciNondistributableLayerGzip)).toBe(true);
    expect(isLayerMediaType(MediaType.OciManifest)).toBe(false);
  });

  it('tells foreign layers apart', () => {
    expect(isForeignLayerMediaType(MediaType.DockerForeignLayer)).toBe(true);
    expect(isForeignLayerMediaType(MediaType.OciNondistributableLayer)).toBe(true);
    expect(isForeignLayerMediaType(MediaType.DockerLayerGzip)).toBe(false);
  });

  it('spells the registered strings', () => {
    expect(MediaType.DockerManifest).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(MediaType.OciIndex).toBe('application/vnd.oci.image.index.v1+json');
  });
});
