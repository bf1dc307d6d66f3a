import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '@cargohold/db';
import { BlobUnavailableError, ImageCatalogService, ImageCommitService, ImageReferencesRepository, ImageRemovalService } from '@cargohold/image-store';
import { parseReference, synthesizeManifest } from '@cargohold/oci';
import { type BlobDigest, FilesystemBlobStore } from '@cargohold/storage';
import { TEST_DIALECTS } from '@cargohold/testing';
import { PruneService } from './prune.service';
import { SweepService } from './sweep.service';


const ROUNDS = Number(process.env.GC_STRESS_ROUNDS ?? 12);

/**
 * The sweep's promise (ADR 0006), tested the hard way: writers keep committing images that
 * re-reference old blobs nothing referenced a moment ago (what a push that skips an upload after
 * HEAD, or a pull that finds a layer "already exists", does), removers untag and delete images,
 * and sweeps with no grace window at all run in parallel, round after round. Afterwards every
 * tagged image's config and layers must be in the store with the right digests, and a final
 * sweep must leave no unreferenced blob behind.
 */
describe.each(TEST_DIALECTS)('online sweep on $name', ({ open }) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let dir: string;
  let blobs: FilesystemBlobStore;
  let commits: ImageCommitService;
  let removal: ImageRemovalService;
  let sweeper: SweepService;
  let prune: PruneService;
  /** Every layer ever written, bytes kept, so a writer can put one back after the sweep took it. */
  const pool = new Map<string, Buffer>();

  beforeAll(async () => {
    const db = await open();
    cleanup = db.cleanup;
    ds = await openDatabase(db.settings);
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-gc-stress-'));
    blobs = new FilesystemBlobStore(dir);
    const refs = new ImageReferencesRepository(ds);
    const catalog = new ImageCatalogService(ds, refs);
    commits = new ImageCommitService(ds, refs, blobs);
    removal = new ImageRemovalService(ds, catalog, refs);
    sweeper = new SweepService(ds, blobs);
    prune = new PruneService(ds, removal, refs);
  });

  afterAll(async () => {
    await ds?.destroy();
    await cleanup?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function put(bytes: Buffer): Promise<string> {
    const info = await blobs.put(Readable.from([bytes]));
    pool.set(info.digest, bytes);
    return info.digest;
  }

  /** Commits an image over `layers`; a blob the sweep took in the meantime is written again and the commit retried, as a job retry would. */
  async function commitImage(name: string, layers: string[]): Promise<string> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: new Date().toISOString(), config: {}, rootfs: { type: 'layers', diff_ids: layers }, history: [], name }));
    for (let attempt = 0; ; attempt++) {
      try {
        const configDigest = await put(config);
        const manifest = synthesizeManifest({ digest: configDigest, size: config.length }, layers.map((d) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d, size: pool.get(d)!.length })));
        const ref = parseReference(name);
        const { imageId } = await commits.commit({
          config: { digest: configDigest, bytes: config },
          manifest,
          layers: layers.map((d) => ({ digest: d, size: pool.get(d)!.length, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId: d, contentSize: pool.get(d)!.length })),
          tags: [{ ...ref, tag: ref.tag ?? 'latest' }],
        });
        return imageId;
      } catch (error) {
        if (!(error instanceof BlobUnavailableError) || attempt > 20) throw error;
        await put(pool.get(error.digest)!);
      }
    }
  }

  it(`loses nothing while ${ROUNDS} rounds of writers, removers and sweeps run at once, and frees what nothing references`, async () => {
    const base = await put(randomBytes(2048));
    const live = new Map<string, string>(); // tag -> image id
    for (let round = 0; round < ROUNDS; round++) {
      const layers = [...pool.keys()];
      const writers = Array.from({ length: 6 }, async (_, w) => {
        // Half old blobs (possibly unreferenced right now), half new ones.
        const old = layers[Math.floor(Math.random() * layers.length)];
        const fresh = await put(randomBytes(1024 + w));
        const tag = `stress/r${round}w${w}:1`;
        live.set(tag, await commitImage(tag, [base, old, fresh]));
      });
      const removers = [...live.keys()].filter(() => Math.random() < 0.5).slice(0, 4).map(async (tag) => {
        live.delete(tag);
        await removal.remove(tag, { force: true, prune: true }).catch(() => undefined);
      });
      const sweeps = [sweeper.sweep({ graceSeconds: 0, dryRun: false }), sweeper.sweep({ graceSeconds: 0, dryRun: false })];
      await Promise.all([...writers, ...removers, ...sweeps]);
    }
    await prune.prune({ target: 'images', danglingOnly: true, labels: [], labelsNot: [], dryRun: false });

    // Zero loss: every tagged image reads back whole, each blob hashing to its digest.
    const images = await ds.query('SELECT t.name AS tag, i.id AS id, i.config AS config FROM tag t JOIN image i ON i.id = t.image_id');
    expect(images.length).toBeGreaterThan(0);
    for (const row of images as Array<{ id: string; config: string }>) {
      const layers = (JSON.parse(row.config) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
      for (const digest of [row.id, ...layers]) {
        const chunks: Buffer[] = [];
        for await (const chunk of await blobs.get(digest as BlobDigest)) chunks.push(chunk as Buffer);
        expect(`sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`, digest).toBe(digest);
      }
    }

    // And nothing unreferenced is left once a final sweep ran. (Even a zero grace window keeps
    // what was written in the very millisecond the sweep starts: let the clock move on first.)
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sweeper.sweep({ graceSeconds: 0, dryRun: false });
    const referenced = new Set<string>();
    for (const row of (await ds.query('SELECT id FROM image')) as Array<{ id: string }>) referenced.add(row.id);
    for (const row of (await ds.query('SELECT blob_digest FROM image_layer')) as Array<{ blob_digest: string }>) referenced.add(row.blob_digest);
    for (const row of (await ds.query('SELECT digest FROM manifest')) as Array<{ digest: string }>) referenced.add(row.digest);
    const stored: string[] = [];
    for await (const blob of blobs.list()) stored.push(blob.digest);
    expect(stored.filter((d) => !referenced.has(d))).toEqual([]);
    expect((await sweeper.sweep({ graceSeconds: 0, dryRun: true })).blobsDeleted).toBe(0);
  }, 240_000);

  it('a sweep killed after choosing blobs is finished by the next run, and refuses writers meanwhile', async () => {
    const orphan = await put(randomBytes(4096));
    // What a sweep killed between tombstoning and deleting leaves behind.
    await ds.query(ds.options.type === 'postgres' ? 'INSERT INTO blob (digest, size, created_at, deleting_at) VALUES ($1, $2, 0, $3) ON CONFLICT (digest) DO UPDATE SET deleting_at = $3' : 'INSERT OR REPLACE INTO blob (digest, size, created_at, deleting_at) VALUES (?, ?, 0, ?)', [orphan, 4096, Date.now()]);
    await expect(
      commits.commit({
        config: { digest: await put(Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')), bytes: Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}') },
        manifest: synthesizeManifest({ digest: orphan, size: 4096 }, []),
        layers: [{ digest: orphan, size: 4096, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId: orphan, contentSize: 4096 }],
        tags: [],
      }),
    ).rejects.toBeInstanceOf(BlobUnavailableError);
    await sweeper.sweep({ graceSeconds: 3600, dryRun: false });
    expect(await blobs.stat(orphan as BlobDigest)).toBeNull();
    expect(await ds.query(ds.options.type === 'postgres' ? 'SELECT 1 FROM blob WHERE digest = $1' : 'SELECT 1 FROM blob WHERE digest = ?', [orphan])).toEqual([]);
  });
});
