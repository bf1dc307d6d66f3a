import { sha256Of, type Sha256Digest } from './digest';
import { MediaType } from './media-types';

export interface ManifestDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface SynthesizedManifest {
  digest: Sha256Digest;
  mediaType: string;
  bytes: Buffer;
}

/**
 * The OCI image manifest for a config and its layers, for images that arrive without one (a
 * legacy docker-archive, `docker import`, a build). Serialised deterministically, so the same
 * image always gets the same manifest digest.
 */
export function synthesizeManifest(config: { digest: string; size: number }, layers: readonly ManifestDescriptor[]): SynthesizedManifest {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return { digest: sha256Of(bytes), mediaType: MediaType.OciManifest, bytes };
}
