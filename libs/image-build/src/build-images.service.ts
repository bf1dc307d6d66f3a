import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ImageEntity, ImageLayerEntity } from '@cargohold/db';
import { ImageCommitService, ImageReferencesRepository } from '@cargohold/image-store';
import { type ImageConfig, parseImageConfig, sha256Of, synthesizeManifest } from '@cargohold/oci';
import { BLOB_STORE, type BlobStore } from '@cargohold/storage';

/** A layer of an image under construction: the blob that holds it and what it unpacks to. */
export interface BuildLayer {
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
  contentSize: number;
  /**
   * false for a base image's layer pushed through the registry API and not yet verified (ADR
   * 0010): images built on it carry that on, so the claimed diff ID never becomes a trusted fact.
   */
  verified?: boolean;
}

/** An image as a build step sees it: its ID (null before the first commit of a FROM scratch stage), config and layers. */
export interface ImageState {
  id: string | null;
  config: ImageConfig;
  layers: BuildLayer[];
}

/**
 * Reads images a build starts from and commits the images each step produces. Every step's
 * image is a real image whose parent is the previous step's (the legacy builder's intermediate
 * images: `docker image ls -a` shows them, `docker history` walks them).
 */
/** Image states remembered per builder process (a few KB each). */
const LOADED_IMAGES = 2000;

@Injectable()
export class BuildImagesService {
  private readonly loaded = new Map<string, ImageState>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly commits: ImageCommitService,
    private readonly refs: ImageReferencesRepository,
  ) {}

  /**
   * An image's config and layers. Both follow from its ID (the config's digest) and never change
   * (but for a pushed layer's verification), so they are remembered: a cached build loads the same
   * few images step after step. Callers
   * check that the image still exists (a cache lookup does) before they ask.
   */
  async load(imageId: string): Promise<ImageState> {
    const known = this.loaded.get(imageId);
    if (known) {
      // Most recently used last, so the oldest is the first to go.
      this.loaded.delete(imageId);
      this.loaded.set(imageId, known);
      return { id: known.id, config: structuredClone(known.config), layers: [...known.layers] };
    }
    const image = await this.dataSource.manager.findOneOrFail(ImageEntity, { where: { id: imageId }, select: ['id', 'config'] });
    const layers = await this.dataSource.manager.find(ImageLayerEntity, { where: { imageId }, order: { position: 'ASC' } });
    const state: ImageState = {
      id: image.id,
      config: parseImageConfig(Buffer.from(image.config, 'utf8')),
      layers: layers.map((l) => ({ digest: l.blobDigest, size: l.blobSize, mediaType: l.mediaType, diffId: l.diffId, contentSize: l.contentSize, verified: l.verified })),
    };
    // Unverified layers (a pushed base image) become verified later: such a state is read again.
    if (state.layers.every((l) => l.verified !== false)) {
      this.loaded.set(imageId, state);
      if (this.loaded.size > LOADED_IMAGES) this.loaded.delete(this.loaded.keys().next().value!);
    }
    return { id: state.id, config: structuredClone(state.config), layers: [...state.layers] };
  }

  async exists(imageId: string): Promise<boolean> {
    return this.dataSource.manager.existsBy(ImageEntity, { id: imageId });
  }

  /** Stores config and manifest, then commits the image with `parentId` as its parent. */
  async commit(config: ImageConfig, layers: BuildLayer[], parentId: string | null): Promise<string> {
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = sha256Of(configBytes);
    await this.blobs.put(Readable.from([configBytes]), { digest: configDigest, size: configBytes.length });
    const manifest = synthesizeManifest({ digest: configDigest, size: configBytes.length }, layers);
    await this.blobs.put(Readable.from([manifest.bytes]), { digest: manifest.digest, size: manifest.bytes.length });
    const committed = await this.commits.commit({
      config: { digest: configDigest, bytes: configBytes },
      manifest,
      layers,
      parentId,
      tags: [],
    });
    return committed.imageId;
  }

  /** Points every `name:tag` at the image in one transaction (a tag taken from another image leaves that one dangling). */
  async tag(imageId: string, tags: string[]): Promise<void> {
    if (!tags.length) return;
    const image = await this.dataSource.manager.findOneOrFail(ImageEntity, { where: { id: imageId }, select: ['manifestDigest'] });
    await this.dataSource.transaction(async (em) => {
      for (const reference of tags) {
        const colon = reference.lastIndexOf(':');
        await this.refs.setTag(reference.slice(0, colon), reference.slice(colon + 1), imageId, image.manifestDigest, em);
      }
      await this.refs.bumpVersion(em);
    });
  }
}
