import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack as createPack } from 'tar-stream';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageEntity, ImageLayerEntity, openDatabase } from '@cargohold/db';
import { ImageCommitService, ImageReferencesRepository, type NewImageLayer } from '@cargohold/image-store';
import { MediaType, sha256Of } from '@cargohold/oci';
import { type BlobDigest, FilesystemBlobStore } from '@cargohold/storage';
import { recordingJobContext, TEST_DIALECTS } from '@cargohold/testing';
import { RegistrySyncRepository } from './registry-sync.repository';
import { VerifyService } from './verify.service';

interface StoredLayer {
  digest: string;
  size: number;
  /** The true diff ID: sha256 of the uncompressed tar. */
  diffId: string;
  /** Sum of the file sizes, what a load records as the layer's content size (ADR 0002). */
  contentSize: number;
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = createPack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime: new Date('2024-01-01T00:00:00Z') }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const hexDigest = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe.each(TEST_DIALECTS)('verify.v1 on $name', ({ open }) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cargohold-verify-'));
  const blobs = new FilesystemBlobStore(path.join(dir, 'blobs'));
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let commits: ImageCommitService;
  let records: RegistrySyncRepository;
  let verifier: VerifyService;
  let seq = 0;

  beforeAll(async () => {
    const db = await open();
    cleanup = db.cleanup;
    ds = await openDatabase(db.settings);
    const refs = new ImageReferencesRepository(ds);
    commits = new ImageCommitService(ds, refs, blobs);
    records = new RegistrySyncRepository(ds, refs);
    verifier = new VerifyService(blobs, records, {});
  });
  afterAll(async () => {
    await ds?.destroy();
    await cleanup?.();
    rmSync(dir, { recursive: true, force: true });
  });

  async function put(bytes: Buffer): Promise<string> {
    const digest = hexDigest(bytes);
    await blobs.put(Readable.from([bytes]), { digest: digest as BlobDigest, size: bytes.length });
    return digest;
  }

  /** A gzip layer in the store, as a registry push leaves it. */
  async function storeLayer(files: Record<string, string>): Promise<StoredLayer> {
    const tar = await tarOf(files);
    const gz = gzipSync(tar);
    return {
      digest: await put(gz),
      size: gz.length,
      diffId: hexDigest(tar),
      contentSize: Object.values(files).reduce((sum, c) => sum + Buffer.byteLength(c), 0),
    };
  }

  /**
   * Commits an image as the registry API does: diff IDs as the config claims them (`claimed`,
   * default the true ones), content size = compressed size, unverified.
   */
  async function commitPushed(layers: StoredLayer[], claimed = layers.map((l) => l.diffId), verified = false): Promise<string> {
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', created: `2024-01-01T00:00:${String(seq++ % 60).padStart(2, '0')}Z`, rootfs: { type: 'layers', diff_ids: claimed }, seq }),
    );
    const configDigest = await put(config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
        layers: layers.map((l) => ({ mediaType: MediaType.OciLayerGzip, digest: l.digest, size: l.size })),
      }),
    );
    const newLayers: NewImageLayer[] = layers.map((l, i) => ({
      digest: l.digest,
      size: l.size,
      mediaType: MediaType.OciLayerGzip,
      diffId: claimed[i],
      contentSize: verified ? l.contentSize : l.size,
      verified,
    }));
    await commits.commit({
      config: { digest: configDigest, bytes: config },
      manifest: { digest: sha256Of(manifest), mediaType: MediaType.OciManifest, bytes: manifest },
      layers: newLayers,
    });
    return configDigest;
  }

  const rowsOf = (imageId: string) => ds.manager.find(ImageLayerEntity, { where: { imageId }, order: { position: 'ASC' } });
  const sizeOf = async (imageId: string) => (await ds.manager.findOneByOrFail(ImageEntity, { id: imageId })).size;

  it('verifies matching layers: rows verified with the true content size, image sizes as a load records them', async () => {
    const a = await storeLayer({ 'etc/a.txt': 'alpha '.repeat(500), 'bin/tool': 'x'.repeat(3000) });
    const b = await storeLayer({ 'srv/b.txt': 'bravo '.repeat(2000) });
    const imageId = await commitPushed([a, b]);
    // Another pushed image sharing layer a: its row is the same claim and is verified with it.
    const other = await commitPushed([a]);
    expect(await sizeOf(imageId)).toBe(a.size + b.size);
    expect(await records.knownLayers([a.digest, b.digest])).toEqual(new Map());

    const result = await verifier.verify({ imageId }, recordingJobContext());

    expect(result).toEqual({ imageId, verified: 2, failed: [] });
    expect((await rowsOf(imageId)).map((r) => ({ verified: r.verified, contentSize: r.contentSize, diffId: r.diffId }))).toEqual([
      { verified: true, contentSize: a.contentSize, diffId: a.diffId },
      { verified: true, contentSize: b.contentSize, diffId: b.diffId },
    ]);
    expect(await sizeOf(imageId)).toBe(a.contentSize + b.contentSize);
    expect(await sizeOf(other)).toBe(a.contentSize);
    expect((await rowsOf(other))[0]).toMatchObject({ verified: true, contentSize: a.contentSize });
    expect(await records.knownLayers([a.digest, b.digest])).toEqual(
      new Map([
        [a.digest, { diffId: a.diffId, contentSize: a.contentSize }],
        [b.digest, { diffId: b.diffId, contentSize: b.contentSize }],
      ]),
    );

    // Run again (a retried or duplicate job): nothing left to do.
    expect(await verifier.verify({ imageId }, recordingJobContext())).toEqual({ imageId, verified: 0, failed: [] });
  });

  it('leaves a lying diff ID unverified, reports it, and knownLayers keeps ignoring it', async () => {
    const honest = await storeLayer({ 'usr/share/honest': 'the truth '.repeat(300) });
    const lie = sha256Of('not the layer');
    const liar = await commitPushed([honest], [lie]);

    const result = await verifier.verify({ imageId: liar }, recordingJobContext());

    expect(result.imageId).toBe(liar);
    expect(result.verified).toBe(0);
    expect(result.failed).toEqual([{ digest: honest.digest, reason: expect.stringContaining(`${lie}`) as string }]);
    expect(result.failed[0].reason).toContain(honest.diffId);
    expect(await rowsOf(liar)).toEqual([expect.objectContaining({ verified: false, diffId: lie, contentSize: honest.size })]);
    expect(await sizeOf(liar)).toBe(honest.size);
    expect(await records.knownLayers([honest.digest])).toEqual(new Map());

    // An honest image sharing the blob, read from it (a pull or load): its facts are the known ones.
    await commitPushed([honest], [honest.diffId], true);
    expect(await records.knownLayers([honest.digest])).toEqual(new Map([[honest.digest, { diffId: honest.diffId, contentSize: honest.contentSize }]]));
    // Verifying the liar again still does not launder its claim.
    expect((await verifier.verify({ imageId: liar }, recordingJobContext())).failed).toHaveLength(1);
    expect((await rowsOf(liar))[0].verified).toBe(false);
  });

  it('reports a layer the inspector refuses and leaves its row unverified', async () => {
    // Valid gzip, but what it holds is not a tar.
    const garbage = gzipSync(Buffer.alloc(4096, 0x41));
    const digest = await put(garbage);
    const layer: StoredLayer = { digest, size: garbage.length, diffId: sha256Of(Buffer.alloc(4096, 0x41)), contentSize: 0 };
    const imageId = await commitPushed([layer]);

    const result = await verifier.verify({ imageId }, recordingJobContext());

    expect(result).toEqual({ imageId, verified: 0, failed: [{ digest, reason: expect.stringMatching(/^the layer was refused: /) as string }] });
    expect((await rowsOf(imageId))[0].verified).toBe(false);
  });

  it('succeeds with nothing to do for an image that no longer exists', async () => {
    const gone = sha256Of('deleted meanwhile');
    expect(await verifier.verify({ imageId: gone }, recordingJobContext())).toEqual({ imageId: gone, verified: 0, failed: [] });
  });
});
