import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ImageEntity, RepositoryManifestEntity } from '@cargohold/db';
import { shortContainerId } from './container-names.util';
import { firstContainerUsing } from './containers.service';
import { ImageCatalogService } from './image-catalog.service';
import { ImageReferencesRepository, type ImageReference } from './image-references.repository';
import { familiarDigest, familiarTag, parseRef, shortId } from './image-ref.util';
import { ImageStoreError, conflict } from './image-store.errors';
import type { DeleteRecord } from './image.types';

/**
 * `docker image rm` with dockerd's rules (daemon/images image_delete): removing a name untags;
 * the image goes when its last reference goes; by ID, an image referenced from several
 * repositories needs force; an image with children cannot be removed at all; with prune,
 * untagged parents follow quietly. Containers (pins, never running) are dockerd's stopped
 * containers: they block removal without force. Only references and image rows change here:
 * blobs are reclaimed by the gc service's sweep.
 */
@Injectable()
export class ImageRemovalService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly catalog: ImageCatalogService,
    private readonly refs: ImageReferencesRepository,
  ) {}

  remove(input: string, options: { force?: boolean; prune?: boolean } = {}): Promise<DeleteRecord[]> {
    const force = options.force ?? false;
    const prune = options.prune ?? true;
    return this.dataSource.transaction(async (em) => {
      await this.refs.bumpVersion(em);
      const records: DeleteRecord[] = [];
      const img = await this.catalog.resolve(input, em);
      let refs = await this.refsOf(img.id, em);
      let removedRepositoryRef = false;

      if (!isImageIdPrefix(img.id, input)) {
        // Untagging the image's only name while a container uses it would leave it dangling:
        // dockerd wants force for that.
        if (!force && isSingleReference(refs)) {
          const user = await firstContainerUsing(img.id, em);
          if (user) {
            throw conflict(
              `conflict: unable to remove repository reference ${JSON.stringify(input)} (must force) - container ${shortContainerId(user.id)} is using its referenced image ${shortId(img.id)}`,
            );
          }
        }
        const parsed = parseRef(input);
        const named = parsed.tag || parsed.digest ? parsed : { ...parsed, tag: 'latest' };
        // A reference with both tag and digest names the digest (TagNameOnly keeps it canonical).
        const target = refs.find((r) =>
          named.digest ? r.kind === 'digest' && r.repository === named.name && r.digest === named.digest : r.kind === 'tag' && r.repository === named.name && r.tag === named.tag,
        );
        if (target) await this.refs.removeReference(target, em);
        records.push({ Untagged: named.digest ? familiarDigest(named.name, named.digest) : familiarTag(named.name, named.tag ?? 'latest') });
        refs = await this.refsOf(img.id, em);

        if (!named.digest && !refs.some((r) => r.kind === 'tag' && r.repository === named.name)) {
          // The last tag of that repository went: its digest references go with it.
          for (const r of refs.filter((x) => x.kind === 'digest' && x.repository === named.name)) {
            await this.refs.removeReference(r, em);
            records.push({ Untagged: describe(r) });
          }
          refs = await this.refsOf(img.id, em);
        }
        if (refs.length) return records;
        // Forced, with a container using it: untagged but kept (dangling), so the container's
        // image stays. dockerd's containerd image store does this (softImageDelete); its classic
        // store would delete the image here and leave the container without one.
        if (force && (await firstContainerUsing(img.id, em))) return records;
        removedRepositoryRef = true;
      } else if (isSingleReference(refs)) {
        // By ID, with references only in one repository: those go first (children still block,
        // and without force so do containers).
        await this.assertNoChildren(img.id, em);
        if (!force) await this.assertNoContainer(img.id, em);
        for (const r of refs) {
          await this.refs.removeReference(r, em);
          records.push({ Untagged: describe(r) });
        }
      }

      await this.deleteImage(img.id, records, force, prune, removedRepositoryRef, em);
      return records;
    });
  }

  private async deleteImage(id: string, records: DeleteRecord[], force: boolean, prune: boolean, quiet: boolean, em: EntityManager): Promise<void> {
    const refs = await this.refsOf(id, em);
    const hasChildren = await this.refs.hasChildren(id, em);
    const user = force ? null : await firstContainerUsing(id, em);
    let problem: ImageStoreError | null = null;
    if (hasChildren) problem = conflict(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image has dependent child images`);
    else if (!force && refs.length) problem = conflict(`conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
    else if (user) problem = stoppedContainerConflict(id, user.id);
    if (problem) {
      // Quietly (pruning parents, or after untagging): a conflict is only reported for a
      // dangling image nothing uses, as dockerd's imageDeleteHelper.
      const dangling = !refs.length && !hasChildren;
      if (quiet && (!dangling || user)) return;
      throw problem;
    }
    const img = await em.findOneBy(ImageEntity, { id });
    if (!img) return;
    for (const r of refs) {
      await this.refs.removeReference(r, em);
      records.push({ Untagged: describe(r) });
    }
    await em.delete(ImageEntity, { id });
    // Its manifest leaves the registry API too: the links were made by the tags and digests just
    // removed, and a deleted image's manifest is what the gc sweep reclaims (ADR 0006).
    await em.delete(RepositoryManifestEntity, { manifestDigest: img.manifestDigest });
    records.push({ Deleted: id });
    if (prune && img.parentId) await this.deleteImage(img.parentId, records, false, true, true, em);
  }

  private async assertNoChildren(id: string, em: EntityManager): Promise<void> {
    if (await this.refs.hasChildren(id, em)) throw conflict(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image has dependent child images`);
  }

  private async assertNoContainer(id: string, em: EntityManager): Promise<void> {
    const user = await firstContainerUsing(id, em);
    if (user) throw stoppedContainerConflict(id, user.id);
  }

  private async refsOf(id: string, em: EntityManager): Promise<ImageReference[]> {
    return (await this.refs.referencesOf([id], em)).get(id) ?? [];
  }
}

/** A pin is never running: dockerd calls a container that is not running a stopped one. */
function stoppedContainerConflict(imageId: string, containerId: string): ImageStoreError {
  return conflict(`conflict: unable to delete ${shortId(imageId)} (must be forced) - image is being used by stopped container ${shortContainerId(containerId)}`);
}

function describe(r: ImageReference): string {
  return r.kind === 'tag' ? familiarTag(r.repository, r.tag) : familiarDigest(r.repository, r.digest);
}

/** dockerd's isImageIDPrefix: the argument is (a prefix of) the ID, with or without `sha256:`. */
export function isImageIdPrefix(imageId: string, input: string): boolean {
  return imageId.startsWith(input) || imageId.slice(imageId.indexOf(':') + 1).startsWith(input);
}

/** dockerd's isSingleReference: at most one tag, and every reference in that tag's repository. */
export function isSingleReference(refs: readonly ImageReference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const tags = refs.filter((r) => r.kind === 'tag');
  if (tags.length > 1) return false;
  const digestRepos = new Set(refs.filter((r) => r.kind === 'digest').map((r) => r.repository));
  const single = tags[0] ?? refs[0];
  return digestRepos.size === 1 && digestRepos.has(single.repository);
}
