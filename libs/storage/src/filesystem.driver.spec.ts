import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeBlobStoreContract } from './blob-store.contract';
import { createBlobStore } from './blob-store.factory';
import { FilesystemBlobStore } from './filesystem.driver';

async function tempRoot(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'cargohold-fs-blobs-'));
}

describeBlobStoreContract('filesystem', async () => {
  const root = await tempRoot();
  const store = await createBlobStore({ driver: 'filesystem', root });
  return { store, cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FilesystemBlobStore layout', () => {
  let root: string;
  beforeEach(async () => {
    root = await tempRoot();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps blobs at blobs/sha256/<hex> and staged data at uploads/<key>, leaving tmp/ empty', async () => {
    const store = new FilesystemBlobStore(root);
    const { digest } = await store.put(Readable.from([Buffer.from('abc')]));
    await store.stage('ctx', Readable.from([Buffer.from('tar bytes')]));
    expect(await readdir(path.join(root, 'blobs', 'sha256'))).toEqual([digest.slice('sha256:'.length)]);
    expect(await readdir(path.join(root, 'uploads'))).toEqual(['ctx']);
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
  });

  it('removes its temp file when a put fails', async () => {
    const store = new FilesystemBlobStore(root);
    await expect(store.put(Readable.from([Buffer.from('abc')]), { size: 2 })).rejects.toThrow(/size mismatch/);
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
  });

  it('ignores foreign files in the blob directory when listing', async () => {
    const store = new FilesystemBlobStore(root);
    await store.init();
    await writeFile(path.join(root, 'blobs', 'sha256', 'not-a-digest'), 'x');
    const listed = [];
    for await (const blob of store.list()) listed.push(blob);
    expect(listed).toEqual([]);
  });

  it('lists nothing (rather than failing) before the first write', async () => {
    const store = new FilesystemBlobStore(path.join(root, 'not-yet-created'));
    const listed = [];
    for await (const blob of store.list()) listed.push(blob);
    for await (const staged of store.listStaged()) listed.push(staged);
    expect(listed).toEqual([]);
  });

  it('fails ping when the root cannot be written', async () => {
    const file = path.join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(new FilesystemBlobStore(path.join(file, 'root')).ping()).rejects.toThrow();
  });
});
