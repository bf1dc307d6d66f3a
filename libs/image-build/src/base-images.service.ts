import { Injectable } from '@nestjs/common';
import { ImageCatalogService, ImageStoreError } from '@cargohold/image-store';
import { formatPlatform, type ImageConfig, type Platform, parseReference, platformMatches } from '@cargohold/oci';
import { JobProducer } from '@cargohold/queue';
import { JobName, type RegistryCredentialsPayload } from '@cargohold/queue-contracts';
import type { BuildOutput } from './build-output';
import { BuildImagesService, type ImageState } from './build-images.service';

export interface BaseImageOptions {
  platform: Platform;
  /** `--pull`: fetch even when present. */
  pull: boolean;
  /** Credentials per registry host (X-Registry-Config). */
  auth: Record<string, RegistryCredentialsPayload>;
  signal: AbortSignal;
}

/** The empty image a `FROM scratch` stage starts from. */
export function scratchImage(platform: Platform): ImageState {
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  return { id: null, config, layers: [] };
}

/**
 * FROM: the image in the store, or else (and always with `--pull`) a pull job on the puller
 * that the build waits for, with the build's credentials for that registry. The pull's progress
 * lines are relayed into the build output, as the legacy builder shows them.
 */
@Injectable()
export class BaseImagesService {
  constructor(
    private readonly catalog: ImageCatalogService,
    private readonly images: BuildImagesService,
    private readonly producer: JobProducer,
  ) {}

  async resolve(reference: string, options: BaseImageOptions, output: BuildOutput): Promise<ImageState> {
    if (!options.pull) {
      const local = await this.local(reference, options.platform);
      if (local) return local;
    }
    const ref = parseReference(reference);
    const auth = options.auth[ref.domain] ?? (ref.domain === 'docker.io' ? options.auth['https://index.docker.io/v1/'] : undefined);
    await this.producer.follow(
      { name: JobName.Pull, data: { image: reference, platform: formatPlatform(options.platform), auth } },
      (event) => void output.relay(event),
      options.signal,
    );
    const pulled = await this.local(reference, options.platform);
    if (!pulled) throw new Error(`${reference} was pulled but is not in the store for ${formatPlatform(options.platform)}`);
    return pulled;
  }

  /** An image in the store by any name or ID, whatever its platform; null when absent. */
  async findLocal(reference: string): Promise<ImageState | null> {
    try {
      return await this.images.load((await this.catalog.resolve(reference)).id);
    } catch (error) {
      if (error instanceof ImageStoreError && error.kind === 'not-found') return null;
      throw error;
    }
  }

  private async local(reference: string, platform: Platform): Promise<ImageState | null> {
    let id: string;
    try {
      id = (await this.catalog.resolve(reference)).id;
    } catch (error) {
      if (error instanceof ImageStoreError && error.kind === 'not-found') return null;
      throw error;
    }
    const state = await this.images.load(id);
    const have: Platform = { os: state.config.os, architecture: state.config.architecture, variant: state.config.variant };
    return platformMatches(platform, have) ? state : null;
  }
}
