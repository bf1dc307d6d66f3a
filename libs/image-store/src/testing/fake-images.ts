import type { DataSource } from 'typeorm';
import type { DatabaseSettings } from '@cargohold/config';
import { openDatabase } from '@cargohold/db';
import { parseReference, sha256Of } from '@cargohold/oci';
import type { BlobStore } from '@cargohold/storage';
import { ContainersService } from '../containers.service';
import { ImageCatalogService } from '../image-catalog.service';
import { ImageCommitService, type NewImage } from '../image-commit.service';
import { ImageExportService } from '../image-export.service';
import { ImageReferencesRepository } from '../image-references.repository';
import { ImageRemovalService } from '../image-removal.service';
import { ImageTaggingService } from '../image-tagging.service';

export interface FakeImageOptions {
  parent?: string;
  tags?: string[];
  created?: string;
  /** The config's `config` (Env, Cmd, Labels …); a shell image with no labels by default. */
  run?: Record<string, unknown>;
  platform?: { os: string; architecture: string };
}

/** A small image (config + manifest + one fake layer digest; blobs are never read by the store tests). */
export function fakeImage(name: string, opts: FakeImageOptions = {}): NewImage {
  const diffId = sha256Of(`layer-${name}`);
  const created = opts.created ?? '2024-01-01T00:00:00Z';
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.platform?.architecture ?? 'amd64',
      os: opts.platform?.os ?? 'linux',
      created,
      config: opts.run ?? { Labels: null, Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: `/bin/sh -c build ${name}` }],
    }),
  );
  const configDigest = sha256Of(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, size: 100 }],
      annotations: { name },
    }),
  );
  return {
    config: { digest: configDigest, bytes: config },
    manifest: { digest: sha256Of(manifest), mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: manifest },
    layers: [{ digest: diffId, size: 100, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId, contentSize: 80 }],
    parentId: opts.parent ?? null,
    tags: (opts.tags ?? []).map((t) => {
      const r = parseReference(t);
      return { ...r, tag: r.tag ?? 'latest' };
    }),
    recordDigests: true,
  };
}

/** The image store's services over one test database. */
export interface TestImageStore {
  ds: DataSource;
  catalog: ImageCatalogService;
  commits: ImageCommitService;
  removal: ImageRemovalService;
  tagging: ImageTaggingService;
  exporter: ImageExportService;
  containers: ContainersService;
}

/** `blobs`: what commits check blobs against (the store tests pass one where every blob is present). */
export async function openTestImageStore(settings: DatabaseSettings, blobs: BlobStore): Promise<TestImageStore> {
  const ds = await openDatabase(settings);
  const refs = new ImageReferencesRepository(ds);
  const catalog = new ImageCatalogService(ds, refs);
  return {
    ds,
    catalog,
    commits: new ImageCommitService(ds, refs, blobs),
    removal: new ImageRemovalService(ds, catalog, refs),
    tagging: new ImageTaggingService(ds, catalog, refs),
    exporter: new ImageExportService(ds, catalog, refs),
    containers: new ContainersService(ds, catalog, refs),
  };
}
