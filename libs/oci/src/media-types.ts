/** Media types of the Docker image manifest v2 (schema1/schema2) and OCI image specs. */
export const MediaType = {
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',

  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',

  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciNondistributableLayer: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciNondistributableLayerGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciNondistributableLayerZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

export type MediaType = (typeof MediaType)[keyof typeof MediaType];

export const SCHEMA1_MEDIA_TYPES: readonly string[] = [
  MediaType.DockerSchema1Manifest,
  MediaType.DockerSchema1SignedManifest,
];

export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.DockerManifest, MediaType.OciManifest];
export const IMAGE_INDEX_MEDIA_TYPES: readonly string[] = [MediaType.DockerManifestList, MediaType.OciIndex];

export type LayerCompression = 'none' | 'gzip' | 'zstd';

const LAYER_COMPRESSION: Readonly<Record<string, LayerCompression>> = {
  [MediaType.DockerLayer]: 'none',
  [MediaType.DockerLayerGzip]: 'gzip',
  [MediaType.DockerForeignLayer]: 'gzip',
  [MediaType.OciLayer]: 'none',
  [MediaType.OciLayerGzip]: 'gzip',
  [MediaType.OciLayerZstd]: 'zstd',
  [MediaType.OciNondistributableLayer]: 'none',
  [MediaType.OciNondistributableLayerGzip]: 'gzip',
  [MediaType.OciNondistributableLayerZstd]: 'zstd',
};

/** True for a media type that carries a filesystem layer (tar, possibly compressed). */
export function isLayerMediaType(mediaType: string): boolean {
  return Object.prototype.hasOwnProperty.call(LAYER_COMPRESSION, mediaType);
}

/** The compression a layer media type declares, or null when it is not a layer type. */
export function layerCompression(mediaType: string): LayerCompression | null {
  return isLayerMediaType(mediaType) ? LAYER_COMPRESSION[mediaType] : null;
}

/** True for Docker's foreign and OCI's non-distributable layers (never pushed, may carry `urls`). */
export function isForeignLayerMediaType(mediaType: string): boolean {
  return (
    mediaType === MediaType.DockerForeignLayer ||
    mediaType === MediaType.OciNondistributableLayer ||
    mediaType === MediaType.OciNondistributableLayerGzip ||
    mediaType === MediaType.OciNondistributableLayerZstd
  );
}
