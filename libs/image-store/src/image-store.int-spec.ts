import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { ALL_BLOBS_PRESENT, TEST_DIALECTS } from '@cargohold/testing';
import { ImageCatalogService } from './image-catalog.service';
import { ImageCommitService, type NewImage } from './image-commit.service';
import type { ImageExportService } from './image-export.service';
import { ImageReferencesRepository } from './image-references.repository';
import { ImageRemovalService } from './image-removal.service';
import { ImageTaggingService } from './image-tagging.service';
import { fakeImage, type FakeImageOptions, openTestImageStore } from './testing/fake-images';

/** The store tests' image; `labels` become the config's labels. */
const image = (name: string, opts: FakeImageOptions & { labels?: Record<string, string> } = {}): NewImage =>
  fakeImage(name, { ...opts, run: { Labels: opts.labels ?? null, Cmd: ['sh'] } });

describe.each(TEST_DIALECTS)('image store on $name', ({ open }) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let catalog: ImageCatalogService;
  let commits: ImageCommitService;
  let removal: ImageRemovalService;
  let tagging: ImageTaggingService;
  let exporter: ImageExportService;

  beforeAll(async () => {
    const db = await open();
    cleanup = db.cleanup;
    ({ ds, catalog, commits, removal, tagging, exporter } = await openTestImageStore(db.settings, ALL_BLOBS_PRESENT));
  });
  afterAll(async () => {
    await ds?.destroy();
    await cleanup?.();
  });

  it('commits idempotently and resolves by tag, digest, full ID and short prefix', async () => {
    const img = image('base', { tags: ['base:1'] });
    await commits.commit(img);
    await commits.commit(img);
    const id = img.config.digest;
    expect((await catalog.resolve('base:1')).id).toBe(id);
    expect((await catalog.resolve(`base@${img.manifest.digest}`)).id).toBe(id);
    expect((await catalog.resolve(id)).id).toBe(id);
    expect((await catalog.resolve(id.slice(7))).id).toBe(id);
    expect((await catalog.resolve(id.slice(7, 15))).id).toBe(id);
    await expect(catalog.resolve('base')).rejects.toThrow('No such image: base:latest');
    await expect(catalog.resolve('docker.io/library/base:1')).resolves.toMatchObject({ id });
  });

  it('hides untagged intermediate images unless all, and never calls them dangling', async () => {
    const parent = image('parent');
    const child = image('child', { parent: parent.config.digest, tags: ['child:1'] });
    await commits.commit(parent);
    await commits.commit(child);
    const visible = (await catalog.list()).map((s) => s.Id);
    expect(visible).toContain(child.config.digest);
    expect(visible).not.toContain(parent.config.digest);
    expect((await catalog.list({ all: true })).map((s) => s.Id)).toContain(parent.config.digest);
    expect((await catalog.list({ filters: '{"dangling":{"true":true}}' })).map((s) => s.Id)).not.toContain(parent.config.digest);
    expect((await catalog.list({ all: true })).find((s) => s.Id === child.config.digest)?.ParentId).toBe(parent.config.digest);
  });

  it('refuses to delete an image with children, even forced', async () => {
    const parent = image('p2');
    const child = image('c2', { parent: parent.config.digest, tags: ['c2:1'] });
    await commits.commit(parent);
    await commits.commit(child);
    await expect(removal.remove(parent.config.digest, { force: true })).rejects.toThrow(
      `conflict: unable to delete ${parent.config.digest.slice(7, 19)} (cannot be forced) - image has dependent child images`,
    );
    // Removing the child's last tag deletes it and prunes the untagged parent.
    const records = await removal.remove('c2:1');
    expect(records).toEqual([
      { Untagged: 'c2:1' },
      { Untagged: `c2@${child.manifest.digest}` },
      { Deleted: child.config.digest },
      { Deleted: parent.config.digest },
    ]);
  });

  it('noprune keeps the parent', async () => {
    const parent = image('p3');
    const child = image('c3', { parent: parent.config.digest, tags: ['c3:1'] });
    await commits.commit(parent);
    await commits.commit(child);
    const records = await removal.remove('c3:1', { prune: false });
    expect(records.at(-1)).toEqual({ Deleted: child.config.digest });
    expect((await catalog.resolve(parent.config.digest)).id).toBe(parent.config.digest);
  });

  it('tag moves a tag; the old image becomes dangling', async () => {
    const a = { ...image('ta', { tags: ['moving:1'] }), recordDigests: false };
    const b = image('tb', { tags: ['other:1'] });
    await commits.commit(a);
    await commits.commit(b);
    await tagging.tag('other:1', 'moving', '1');
    expect((await catalog.resolve('moving:1')).id).toBe(b.config.digest);
    const dangling = (await catalog.list({ filters: '{"dangling":{"true":true}}' })).map((s) => s.Id);
    expect(dangling).toContain(a.config.digest);
    expect(dangling).not.toContain(b.config.digest);
  });

  it('label, since, before, until and reference filters', async () => {
    await commits.commit(image('old', { created: '2020-01-01T00:00:00Z', labels: { tier: 'db' }, tags: ['flt/old:1'] }));
    await commits.commit(image('new', { created: '2025-01-01T00:00:00Z', labels: { tier: 'web' }, tags: ['flt/new:1', 'flt/new:latest'] }));
    const names = async (filters: object) => (await catalog.list({ filters: JSON.stringify(filters) })).flatMap((s) => s.RepoTags).filter((t) => t.startsWith('flt/'));
    expect(await names({ label: { 'tier=db': true } })).toEqual(['flt/old:1']);
    expect(await names({ label: { tier: true } })).toEqual(expect.arrayContaining(['flt/old:1', 'flt/new:1']));
    expect(await names({ since: { 'flt/old:1': true } })).toEqual(expect.arrayContaining(['flt/new:1', 'flt/new:latest']));
    expect(await names({ before: { 'flt/new:1': true } })).toEqual(['flt/old:1']);
    expect(await names({ until: { '2022-01-01T00:00:00Z': true } })).toEqual(['flt/old:1']);
    // Only the matching references of an image are listed.
    expect(await names({ reference: { 'flt/*:latest': true } })).toEqual(['flt/new:latest']);
    expect(await names({ reference: { 'flt/new': true } })).toEqual(expect.arrayContaining(['flt/new:1', 'flt/new:latest']));
  });

  it('rm by ID with two repositories needs force; with force it untags all', async () => {
    const img = image('multi', { tags: ['ra:1', 'rb:1'] });
    await commits.commit(img);
    await expect(removal.remove(img.config.digest.slice(7, 19))).rejects.toThrow('(must be forced) - image is referenced in multiple repositories');
    const records = await removal.remove(img.config.digest.slice(7, 19), { force: true });
    expect(records.filter((r) => 'Untagged' in r)).toHaveLength(4);
    expect(records.at(-1)).toEqual({ Deleted: img.config.digest });
  });

  it('export plans: a bare repository exports every tag', async () => {
    await commits.commit(image('e1', { tags: ['exp:1'] }));
    await commits.commit(image('e2', { tags: ['exp:2'] }));
    const plan = await exporter.plan(['exp']);
    expect(plan.flatMap((p) => p.repoTags).sort()).toEqual(['exp:1', 'exp:2']);
    const one = await exporter.plan(['exp:1']);
    expect(one).toHaveLength(1);
    expect(one[0].layers).toHaveLength(1);
  });

  it('removing the last reference by digest deletes the image', async () => {
    const img = image('dig', { tags: ['dig:1'] });
    await commits.commit(img);
    await removal.remove('dig:1');
    await expect(catalog.resolve(img.config.digest)).rejects.toThrow('No such image');
    const again = image('dig2', { tags: ['dig2:1'] });
    await commits.commit(again);
    await tagging.tag('dig2:1', 'dig2', '2');
    await removal.remove('dig2:1');
    await removal.remove('dig2:2');
    await expect(catalog.resolve(again.config.digest)).rejects.toThrow('No such image');
  });

  it('a cached listing sees changes made through another instance (another gateway or worker)', async () => {
    const otherRefs = new ImageReferencesRepository(ds);
    const otherCommits = new ImageCommitService(ds, otherRefs, ALL_BLOBS_PRESENT);
    const otherTagging = new ImageTaggingService(ds, new ImageCatalogService(ds, otherRefs), otherRefs);
    const before = await catalog.list();
    const img = image('cache-probe', { tags: ['cache/probe:1'] });
    await otherCommits.commit(img);
    expect((await catalog.list()).length).toBe(before.length + 1);
    await otherTagging.tag('cache/probe:1', 'cache/probe', '2');
    expect((await catalog.list()).find((s) => s.Id === img.config.digest)?.RepoTags.sort()).toEqual(['cache/probe:1', 'cache/probe:2']);
    await new ImageRemovalService(ds, new ImageCatalogService(ds, otherRefs), otherRefs).remove(img.config.digest, { force: true });
    expect((await catalog.list()).length).toBe(before.length);
  });

  it('concurrent commits of many images all become visible', async () => {
    await Promise.all(Array.from({ length: 300 }, (_, i) => commits.commit(image(`bulk-${i}`, { tags: [`bulk/${i}:1`] }))));
    const list = await catalog.list();
    expect(list.filter((s) => s.RepoTags[0]?.startsWith('bulk/'))).toHaveLength(300);
  });
});
