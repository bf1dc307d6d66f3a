import type { GeneratedFill } from './deterministic-bytes.util';

/** Ownership and permissions of a layer entry; uid/gid default to 0, mode to 0644 (dirs 0755). */
export interface FixtureEntryMeta {
  /** Path inside the image, e.g. `/etc/passwd` or `etc/passwd`; written without the leading slash. */
  path: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Bytes produced while the tar is written, never held whole in memory. */
export interface GeneratedContent {
  size: number;
  fill: GeneratedFill;
  /** Different seeds give different (random) bytes; the same seed always the same bytes. */
  seed?: string;
}

/**
 * One entry of a layer tar. Paths are taken as given (after stripping a leading `/` or `./`),
 * so hostile names such as `../../evil` reach the tar unchanged.
 */
export type FixtureEntry = FixtureEntryMeta &
  (
    | { content: string | Buffer }
    /** A file on this machine, streamed into the tar (e.g. `/bin/busybox`). */
    | { source: string }
    | { generated: GeneratedContent }
    | { symlink: string }
    /** Hard link to another path in the same layer (tar link names are relative to the layer root). */
    | { hardlink: string }
    | { dir: true }
    /** Deletes `path` from lower layers: written as the empty file `<dir>/.wh.<name>`. */
    | { whiteout: true }
    | { device: { kind: 'char' | 'block'; major: number; minor: number } }
  );

/** A layer from an explicit entry list, or from a directory on disk (walked, sorted, owned by 0:0). */
export type FixtureLayer = ({ files: FixtureEntry[] } | { directory: string }) & {
  /** `created_by` of the history entry for this layer. */
  createdBy?: string;
};

/** The `config` object of an image config (Docker's container config, as far as images use it). */
export interface FixtureContainerConfig {
  User?: string;
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
  StopSignal?: string;
  Shell?: string[];
  OnBuild?: string[];
}

export interface FixtureImage {
  /** Tags to record, e.g. `busybox:latest`, `localhost:5000/team/app:1`; `:latest` is added when missing. */
  repoTags: string[];
  layers: FixtureLayer[];
  config?: FixtureContainerConfig;
  /** RFC 3339; defaults to FIXTURE_CREATED. */
  created?: string;
  /** Defaults to this machine's architecture (busybox is copied from this machine). */
  architecture?: string;
  os?: string;
}

/** `docker-archive-legacy`: `docker save` before Docker 25. `oci`: Docker ≥ 25 (OCI layout + manifest.json). */
export type ArchiveFormat = 'docker-archive-legacy' | 'oci';

export interface WriteArchiveOptions {
  format: ArchiveFormat;
  /** Gzip the whole archive (`docker load` accepts .tar.gz). */
  gzip?: boolean;
}

/** The image config document as written (its sha256 is the image ID). */
export interface FixtureImageConfigDocument {
  architecture: string;
  config: FixtureContainerConfig;
  created: string;
  history: Array<{ created: string; created_by: string; comment: string }>;
  os: string;
  rootfs: { type: 'layers'; diff_ids: string[] };
}

export interface WrittenImage {
  /** `sha256:<hex>` of the config: what `docker image inspect` reports as Id. */
  id: string;
  /** `sha256:<hex>` of the OCI manifest ('oci' format only). */
  manifestDigest?: string;
  /** Uncompressed layer digests, bottom first. */
  diffIds: string[];
  /** Byte size of each layer tar, bottom first. */
  layerSizes: number[];
  /** As written to manifest.json (familiar form, always with a tag). */
  repoTags: string[];
  config: FixtureImageConfigDocument;
}

export interface WrittenArchive {
  file: string;
  format: ArchiveFormat;
  images: WrittenImage[];
}
