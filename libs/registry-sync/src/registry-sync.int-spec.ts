import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '@cargohold/db';
import { ImageCatalogService, ImageCommitService, ImageReferencesRepository, ImageTaggingService } from '@cargohold/image-store';
import { hostPlatform } from '@cargohold/oci';
import { PermanentJobError } from '@cargohold/queue';
import { type DockerProgress, type PullJob, pullJobSchema, type PushJob, pushJobSchema } from '@cargohold/queue-contracts';
import { RegistryClient } from '@cargohold/registry-client';
import { type BlobDigest, FilesystemBlobStore } from '@cargohold/storage';
import {
  busyboxImage,
  clearRedisPrefix,
  type DockerdHandle,
  createTestSqliteFile,
  largeImage,
  multiLayerImage,
  type PushedTestImage,
  type PushedTestIndex,
  pushTestImage,
  pushTestIndex,
  startDockerd,
  startRegistry,
  startTamperingProxy,
  type TamperingProxy,
  type TestRegistry,
  testRedisUrl,
  uniquePrefix,
  recordingJobContext,
} from '@cargohold/testing';
import { progressBar } from './docker-progress.util';
import { PullService } from './pull.service';
import { PushService } from './push.service';
import { RedisBlobDownloadLock } from './redis-blob-download-lock';
import { RegistrySyncRepository } from './registry-sync.repository';

const exec = promisify(execFile);
const alice = { username: 'alice', password: 'wonderland' };


const pullJob = (job: Partial<PullJob> & { image: string }): PullJob => pullJobSchema.parse(job);
const pushJob = (job: Partial<PushJob> & { name: string }): PushJob => pushJobSchema.parse(job);
const statuses = (events: DockerProgress[]): string[] => events.filter((e) => !e.id && e.status).map((e) => e.status ?? '');
const short = (digest: string): string => digest.slice(7, 19);
/** `id: status` lines without the byte counters (what the CLI prints when not on a terminal). */
const layerLines = (events: DockerProgress[], id: string): string[] => events.filter((e) => e.id === id && e.status !== 'Downloading' && e.status !== 'Pushing').map((e) => e.status ?? '');
const blobGets = (proxy: TamperingProxy, digest: string): number => proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`)).length;

/** POST to a real dockerd's API over its socket: status and the JSON lines it answered. */
function dockerdPost(dockerd: DockerdHandle, path: string): Promise<{ status: number; lines: DockerProgress[] }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: dockerd.socketPath, method: 'POST', path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        const lines = body.split(/\r?\n/).filter(Boolean).map((line) => JSON.parse(line) as DockerProgress);
        resolve({ status: response.statusCode ?? 0, lines });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

function isSubsequence(part: readonly string[], whole: readonly string[]): boolean {
  let i = 0;
  for (const item of whole) if (item === part[i]) i++;
  return i === part.length;
}

/** Each layer's statuses in order, without byte counters and without dockerd's extraction. */
function perLayer(events: DockerProgress[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) {
    if (!e.id || !e.status || ['Downloading', 'Extracting', 'Pulling from bb'].includes(e.status) || e.status.startsWith('Pulling from')) continue;
    (out[e.id] ??= []).push(e.status);
  }
  return out;
}

/** One cargohold store: SQLite file, filesystem blobs, services wired as the puller wires them. */
class Store {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'cargohold-registry-sync-'));
  readonly sqlite = createTestSqliteFile();
  readonly blobs = new FilesystemBlobStore(path.join(this.dir, 'blobs'));
  ds!: DataSource;
  records!: RegistrySyncRepository;
  catalog!: ImageCatalogService;
  tagging!: ImageTaggingService;
  commits!: ImageCommitService;

  async open(): Promise<this> {
    this.ds = await openDatabase({ type: 'sqlite', file: this.sqlite.file });
    const refs = new ImageReferencesRepository(this.ds);
    this.records = new RegistrySyncRepository(this.ds, refs);
    this.catalog = new ImageCatalogService(this.ds, refs);
    this.tagging = new ImageTaggingService(this.ds, this.catalog, refs);
    this.commits = new ImageCommitService(this.ds, refs, this.blobs);
    return this;
  }

  puller(lock: RedisBlobDownloadLock, client = new RegistryClient({ retries: 1 })): PullService {
    return new PullService(this.blobs, this.records, this.commits, lock, client, { concurrency: 3 });
  }

  pusher(client = new RegistryClient({ retries: 1 })): PushService {
    return new PushService(this.blobs, this.records, client, {});
  }

  async blobDigests(): Promise<string[]> {
    const out: string[] = [];
    for await (const blob of this.blobs.list()) out.push(blob.digest);
    return out.sort();
  }

  async close(): Promise<void> {
    await this.ds?.destroy();
    this.sqlite.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('pull and push against docker-registry (SQLite, filesystem blobs, Redis locks)', () => {
  let open: TestRegistry;
  let bb: PushedTestImage;
  let bb1: PushedTestImage;
  let multi: PushedTestImage;
  let index: PushedTestIndex;
  let redis: Redis;
  let lock: RedisBlobDownloadLock;
  const prefix = uniquePrefix('registry-sync');
  const stores: Store[] = [];
  const proxies: TamperingProxy[] = [];

  const newStore = async (): Promise<Store> => {
    const store = await new Store().open();
    stores.push(store);
    return store;
  };
  const proxy = async (target: string, options: Parameters<typeof startTamperingProxy>[1] = {}): Promise<TamperingProxy> => {
    const started = await startTamperingProxy(target, options);
    proxies.push(started);
    return started;
  };

  beforeAll(async () => {
    open = await startRegistry();
    bb = await pushTestImage(open, 'bb', 'latest', busyboxImage('bb:latest'));
    bb1 = await pushTestImage(open, 'bb', '1.0', multiLayerImage('bb:1.0', 2));
    multi = await pushTestImage(open, 'team/multi', '1', multiLayerImage('multi:1', 3), { format: 'oci' });
    index = await pushTestIndex(open, 'multiarch', '1');
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    lock = new RedisBlobDownloadLock(redis, { prefix });
  }, 180_000);

  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await open?.stop();
    if (redis) {
      await clearRedisPrefix(testRedisUrl(), prefix);
      await redis.quit();
    }
  });

  it('pulls by tag with dockerd\'s progress lines, and records tag and repository digest', async () => {
    const store = await newStore();
    const ctx = recordingJobContext();
    const result = await store.puller(lock).pull(pullJob({ image: `${open.host}/bb`, tag: 'latest' }), ctx);

    expect(result.images).toEqual([{ reference: `${open.host}/bb:latest`, id: bb.configDigest, manifestDigest: bb.manifestDigest, downloaded: true }]);
    expect(ctx.events[0]).toEqual({ status: 'Pulling from bb', id: 'latest' });
    const id = short(bb.layers[0].digest);
    expect(layerLines(ctx.events, id)).toEqual(['Pulling fs layer', 'Verifying Checksum', 'Download complete', 'Pull complete']);
    const downloading = ctx.events.filter((e) => e.id === id && e.status === 'Downloading');
    expect(downloading.length).toBeGreaterThan(0);
    const last = downloading.at(-1)!;
    expect(last.progressDetail).toEqual({ current: bb.layers[0].size, total: bb.layers[0].size });
    expect(last.progress).toMatch(/^\[=+>\] +[\d.]+[kM]B\/[\d.]+[kM]B$/);
    expect(ctx.events.find((e) => e.status === 'Pulling fs layer')).toEqual({ status: 'Pulling fs layer', progressDetail: {}, id });
    expect(statuses(ctx.events)).toEqual([`Digest: ${bb.manifestDigest}`, `Status: Downloaded newer image for ${open.host}/bb:latest`]);

    const inspect = await store.catalog.inspect(`${open.host}/bb:latest`);
    expect(inspect.Id).toBe(bb.configDigest);
    expect(inspect.RepoTags).toEqual([`${open.host}/bb:latest`]);
    expect(inspect.RepoDigests).toEqual([`${open.host}/bb@${bb.manifestDigest}`]);
    expect(inspect.RootFS.Layers).toEqual(bb.diffIds);
    expect(await store.blobDigests()).toEqual([bb.configDigest, bb.manifestDigest, ...bb.layers.map((l) => l.digest)].sort());
  });

  it('re-pulls an image it has with one manifest HEAD, no blob or manifest GET: "Image is up to date"', async () => {
    const store = await newStore();
    const counting = await proxy(open.url);
    const ref = { image: `${counting.host}/bb`, tag: 'latest' };
    await store.puller(lock).pull(pullJob(ref), recordingJobContext());
    expect(blobGets(counting, bb.layers[0].digest)).toBe(1);

    counting.requests.length = 0;
    const ctx = recordingJobContext();
    const started = performance.now();
    const again = await store.puller(lock).pull(pullJob(ref), ctx);
    const elapsed = performance.now() - started;
    expect(again.images[0]).toMatchObject({ id: bb.configDigest, downloaded: false });
    expect(counting.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/', `HEAD /v2/bb/manifests/latest`]);
    expect(ctx.events).toEqual([
      { status: 'Pulling from bb', id: 'latest' },
      { status: `Digest: ${bb.manifestDigest}` },
      { status: `Status: Image is up to date for ${counting.host}/bb:latest` },
    ]);
    expect(elapsed).toBeLessThan(1_000);
  });

  it('pulls by digest (tag parameter or @digest in the name; the digest in the name wins)', async () => {
    const store = await newStore();
    const ctx = recordingJobContext();
    const result = await store.puller(lock).pull(pullJob({ image: `${open.host}/team/multi`, tag: multi.manifestDigest }), ctx);
    const shown = `${open.host}/team/multi@${multi.manifestDigest}`;
    expect(result.images).toEqual([{ reference: shown, id: multi.configDigest, manifestDigest: multi.manifestDigest, downloaded: true }]);
    expect(ctx.events[0]).toEqual({ status: 'Pulling from team/multi', id: shown });
    expect(statuses(ctx.events)).toEqual([`Digest: ${multi.manifestDigest}`, `Status: Downloaded newer image for ${shown}`]);
    const inspect = await store.catalog.inspect(shown);
    expect(inspect.RepoTags).toEqual([]);
    expect(inspect.RepoDigests).toEqual([shown]);
    expect(inspect.RootFS.Layers).toEqual(multi.diffIds);

    const again = recordingJobContext();
    const second = await store.puller(lock).pull(pullJob({ image: shown, tag: 'latest' }), again);
    expect(second.images[0]).toMatchObject({ reference: `${open.host}/team/multi:latest@${multi.manifestDigest}`, downloaded: false });
    expect(again.events[0]).toEqual({ status: 'Pulling from team/multi', id: `${open.host}/team/multi:latest@${multi.manifestDigest}` });
    expect(statuses(again.events).at(-1)).toBe(`Status: Image is up to date for ${open.host}/team/multi:latest@${multi.manifestDigest}`);
  });

  it('pulls every tag (-a), sharing the layers the tags have in common', async () => {
    const store = await newStore();
    const ctx = recordingJobContext();
    const result = await store.puller(lock).pull(pullJob({ image: `${open.host}/bb`, allTags: true }), ctx);
    // In the registry's order (dockerd's too), whatever it is.
    const order = result.images.map((i) => i.reference.slice(i.reference.lastIndexOf(':') + 1));
    expect([...order].sort()).toEqual(['1.0', 'latest']);
    const pushed = new Map([
      ['1.0', bb1],
      ['latest', bb],
    ]);
    expect(result.images.map((i) => i.id)).toEqual(order.map((tag) => pushed.get(tag)?.configDigest));
    expect(ctx.events.filter((e) => e.status === 'Pulling from bb').map((e) => e.id)).toEqual(order);
    expect(statuses(ctx.events)).toEqual([...order.map((tag) => `Digest: ${pushed.get(tag)?.manifestDigest}`), `Status: Downloaded newer image for ${open.host}/bb`]);
    // Both tags hold the busybox layer: the second one finds it.
    expect(layerLines(ctx.events, short(bb.layers[0].digest)).at(-1)).toBe('Already exists');
    expect((await store.catalog.inspect(`${open.host}/bb:1.0`)).Id).toBe(bb1.configDigest);
    expect((await store.catalog.inspect(`${open.host}/bb:latest`)).Id).toBe(bb.configDigest);
  });

  it('picks the platform from an OCI index, records the index digest, and refuses a platform it lacks', async () => {
    const [amd64, arm64] = index.manifests;
    const store = await newStore();
    const host = recordingJobContext();
    const ref = `${open.host}/multiarch:1`;
    await store.puller(lock).pull(pullJob({ image: `${open.host}/multiarch`, tag: '1' }), host);
    const expected = hostPlatform().architecture === 'arm64' ? arm64 : amd64;
    expect((await store.catalog.inspect(ref)).Id).toBe(expected.configDigest);
    expect(statuses(host.events)[0]).toBe(`Digest: ${index.indexDigest}`);
    expect((await store.catalog.inspect(ref)).RepoDigests).toEqual([`${open.host}/multiarch@${index.indexDigest}`]);
    const stored = await store.records.findManifest(index.indexDigest);
    expect(stored?.bytes.length).toBe(index.indexSize);
    expect(await store.blobs.stat(index.indexDigest as BlobDigest)).toEqual({ digest: index.indexDigest, size: index.indexSize });

    const arm = recordingJobContext();
    const pulled = await store.puller(lock).pull(pullJob({ image: `${open.host}/multiarch`, tag: '1', platform: 'linux/arm64' }), arm);
    expect(pulled.images[0]).toMatchObject({ id: arm64.configDigest, manifestDigest: index.indexDigest });
    const image = await store.catalog.inspect(ref);
    expect([image.Id, image.Architecture]).toEqual([arm64.configDigest, 'arm64']);

    const none = recordingJobContext();
    const failure = await store.puller(lock).pull(pullJob({ image: `${open.host}/multiarch`, tag: '1', platform: 'linux/arm/v7' }), none).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentJobError);
    expect((failure as Error).message).toBe('no matching manifest for linux/arm/v7 in the manifest list entries');
    // dockerd says where it pulls from before it finds no match: the error comes in the stream.
    expect(none.events).toEqual([{ status: 'Pulling from multiarch', id: '1' }]);
  });

  it('answers a missing tag or repository with dockerd\'s 404 text before any progress', async () => {
    const store = await newStore();
    const missingTag = recordingJobContext();
    const error = await store.puller(lock).pull(pullJob({ image: `${open.host}/bb`, tag: 'nope' }), missingTag).catch((e: unknown) => e);
    const message = `manifest for ${open.host}/bb:nope not found: manifest unknown: manifest unknown`;
    expect(error).toBeInstanceOf(PermanentJobError);
    expect(error).toMatchObject({ message, status: 404 });
    // Nothing streamed: the worker host turns the thrown status into dockerd's HTTP error.
    expect(missingTag.events).toEqual([]);

    const missingRepo = recordingJobContext();
    const repoError = await store.puller(lock).pull(pullJob({ image: `${open.host}/nope`, tag: 'latest' }), missingRepo).catch((e: unknown) => e);
    expect(repoError).toMatchObject({ status: 404 });
    expect(missingRepo.events).toEqual([]);
    // docker-registry 2.8 answers MANIFEST_UNKNOWN for a repository it does not have.
    expect((repoError as Error).message).toBe(`manifest for ${open.host}/nope:latest not found: manifest unknown: manifest unknown`);
  });

  it('refuses a bad reference or platform (400) and scratch (403) before any progress', async () => {
    const store = await newStore();
    const cases: Array<[Partial<PullJob> & { image: string }, number, string]> = [
      [{ image: `${open.host}/Upper` }, 400, 'invalid reference format: repository name (Upper) must be lowercase'],
      [{ image: `${open.host}/bb`, tag: 'latest', platform: 'linux/amd64/v3/extra' }, 400, 'invalid platform'],
      [{ image: 'scratch' }, 403, "'scratch' is a reserved name"],
    ];
    for (const [job, status, text] of cases) {
      const ctx = recordingJobContext();
      const error = await store.puller(lock).pull(pullJob(job), ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentJobError);
      expect((error as PermanentJobError).status).toBe(status);
      expect((error as Error).message).toContain(text);
      expect(ctx.events).toEqual([]);
    }
  });

  it('finishes a pull that a crashed replica left half done (a layer stored, nothing committed)', async () => {
    const store = await newStore();
    const counting = await proxy(open.url);
    const [bottom, ...rest] = multi.layers;
    const blob = await fetch(`${open.url}/v2/team/multi/blobs/${bottom.digest}`);
    await store.blobs.put(Readable.from([Buffer.from(await blob.arrayBuffer())]), { digest: bottom.digest as BlobDigest, size: bottom.size });
    const ctx = recordingJobContext();
    await store.puller(lock).pull(pullJob({ image: `${counting.host}/team/multi`, tag: '1' }), ctx);
    expect(layerLines(ctx.events, short(bottom.digest))).toEqual(['Already exists']);
    expect(blobGets(counting, bottom.digest)).toBe(0);
    for (const layer of rest) expect(blobGets(counting, layer.digest)).toBe(1);
    // Its diff ID was read from the stored blob, and checked against the config.
    expect((await store.catalog.inspect(`${counting.host}/team/multi:1`)).RootFS.Layers).toEqual(multi.diffIds);
  });

  it('refuses a corrupted config or layer (tampering proxy): nothing committed, no blob stored', async () => {
    const store = await newStore();
    const tampering = await proxy(open.url, { corruptBlobs: true });
    const job = pullJob({ image: `${tampering.host}/team/multi`, tag: '1' });
    const configFailure = await store.puller(lock).pull(job, recordingJobContext()).catch((e: unknown) => e);
    expect(configFailure).toBeInstanceOf(PermanentJobError);
    expect((configFailure as Error).message).toBe(`error pulling image configuration: image config verification failed for digest ${multi.configDigest}`);
    expect(await store.blobDigests()).toEqual([]);

    // With the config already here, the layers are what the proxy corrupts.
    const config = await fetch(`${open.url}/v2/team/multi/blobs/${multi.configDigest}`);
    await store.blobs.put(Readable.from([Buffer.from(await config.arrayBuffer())]), { digest: multi.configDigest as BlobDigest });
    const ctx = recordingJobContext();
    const layerFailure = await store.puller(lock).pull(job, ctx).catch((e: unknown) => e);
    expect(layerFailure).toBeInstanceOf(PermanentJobError);
    expect((layerFailure as Error).message).toMatch(/^filesystem layer verification failed for digest sha256:[a-f0-9]{64}$/);
    expect(ctx.events.some((e) => e.status === 'Pull complete')).toBe(false);
    expect(await store.blobDigests()).toEqual([multi.configDigest]);
    expect(await store.catalog.list()).toEqual([]);
  });

  it('two pullers pulling the same image at once download each layer once, and both succeed', async () => {
    const store = await newStore();
    const big = await pushTestImage(open, 'big', '1', largeImage('big:1', 4, 24));
    const counting = await proxy(open.url);
    const job = pullJob({ image: `${counting.host}/big`, tag: '1' });
    // Two replicas: their own registry clients and Redis connections, one store and one lock namespace.
    const otherRedis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    try {
      const [a, b] = [recordingJobContext(), recordingJobContext()];
      const results = await Promise.all([
        store.puller(lock).pull(job, a),
        store.puller(new RedisBlobDownloadLock(otherRedis, { prefix })).pull(job, b),
      ]);
      expect(results.map((r) => r.images[0].id)).toEqual([big.configDigest, big.configDigest]);
      for (const layer of big.layers) expect(blobGets(counting, layer.digest)).toBe(1);
      // Whoever did not download a layer waited for it, then took it from the store.
      for (const layer of big.layers) {
        const lines = [a, b].map((ctx) => layerLines(ctx.events, short(layer.digest)));
        expect(lines.filter((l) => l.includes('Verifying Checksum'))).toHaveLength(1);
        for (const l of lines) expect(l.slice(-2)).toEqual(['Download complete', 'Pull complete']);
      }
      expect((await store.catalog.inspect(`${counting.host}/big:1`)).RootFS.Layers).toEqual(big.diffIds);
    } finally {
      await otherRedis.quit();
    }
  });

  describe('side by side with a real dockerd', () => {
    let dockerd: DockerdHandle | null;
    let compared: PushedTestImage;
    beforeAll(async () => {
      dockerd = await startDockerd();
      compared = await pushTestImage(open, 'compared', '1', multiLayerImage('compared:1', 4));
    }, 120_000);
    afterAll(() => dockerd?.stop());

    it('prints the lines dockerd prints for the same pull, with the same progress bars', async () => {
      expect(dockerd, 'dockerd must start on this machine').not.toBeNull();
      const query = `fromImage=${encodeURIComponent(`${open.host}/compared`)}&tag=1`;
      const theirs = await dockerdPost(dockerd!, `/v1.41/images/create?${query}`);
      const ctx = recordingJobContext();
      await (await newStore()).puller(lock).pull(pullJob({ image: `${open.host}/compared`, tag: '1' }), ctx);

      expect(theirs.status).toBe(200);
      expect(ctx.events[0]).toEqual(theirs.lines[0]);
      expect(statuses(ctx.events)).toEqual(statuses(theirs.lines));
      // Layers finish in any order; each layer's own sequence is compared (5 layers: two wait).
      // dockerd's transfer watchers keep only the latest update, so it sometimes skips a line
      // (`Verifying Checksum`): its lines for a layer are ours, minus at most a few in between.
      const mine = perLayer(ctx.events);
      const dockerds = perLayer(theirs.lines);
      expect(Object.keys(mine).sort()).toEqual(Object.keys(dockerds).sort());
      // Three downloads at a time, as dockerd's default: the two top layers wait.
      expect(compared.layers.map((l) => mine[short(l.digest)].includes('Waiting'))).toEqual([false, false, false, true, true]);
      for (const [id, lines] of Object.entries(dockerds)) {
        expect([mine[id][0], mine[id].at(-1)]).toEqual([lines[0], lines.at(-1)]);
        expect(isSubsequence(lines, mine[id]), `${id}: ${lines.join(', ')} within ${mine[id].join(', ')}`).toBe(true);
      }
      expect(Object.keys(perLayer(ctx.events))).toHaveLength(compared.layers.length);
      const bars = theirs.lines.filter((l) => l.status === 'Downloading');
      expect(bars.length).toBeGreaterThan(0);
      for (const line of bars) {
        expect(progressBar(line.progressDetail?.current ?? 0, line.progressDetail?.total ?? 0)).toBe(line.progress);
      }
      for (const line of ctx.events.filter((l) => l.status === 'Pulling fs layer' || l.status === 'Pull complete')) {
        expect(theirs.lines).toContainEqual(line);
      }
    });

    it('fails a missing tag and a platform an index lacks as dockerd does', async () => {
      expect(dockerd, 'dockerd must start on this machine').not.toBeNull();
      const store = await newStore();
      const missing = await dockerdPost(dockerd!, `/v1.41/images/create?fromImage=${encodeURIComponent(`${open.host}/compared`)}&tag=nope`);
      const ours = recordingJobContext();
      const error = await store.puller(lock).pull(pullJob({ image: `${open.host}/compared`, tag: 'nope' }), ours).catch((e: unknown) => e);
      expect(missing.status).toBe(404);
      expect(error).toMatchObject({ status: missing.status, message: (missing.lines[0] as { message?: string }).message });

      const platform = await dockerdPost(dockerd!, `/v1.41/images/create?fromImage=${encodeURIComponent(`${open.host}/multiarch`)}&tag=1&platform=linux/s390x`);
      const ctx = recordingJobContext();
      const refused = await store.puller(lock).pull(pullJob({ image: `${open.host}/multiarch`, tag: '1', platform: 'linux/s390x' }), ctx).catch((e: unknown) => e);
      expect(platform.lines).toEqual([...ctx.events, { errorDetail: { message: (refused as Error).message }, error: (refused as Error).message }]);
    });
  });

  describe('with htpasswd Basic auth', () => {
    let basic: TestRegistry;
    let pushed: PushedTestImage;
    beforeAll(async () => {
      basic = await startRegistry({ auth: 'htpasswd' });
      pushed = await pushTestImage(basic, 'private/bb', 'latest', busyboxImage('private:latest'));
    });
    afterAll(() => basic?.stop());

    it('pulls with the right credentials, and answers 401 without them or with wrong ones', async () => {
      const store = await newStore();
      const job = { image: `${basic.host}/private/bb`, tag: 'latest' };
      const anonymous = recordingJobContext();
      const refused = await store.puller(lock).pull(pullJob(job), anonymous).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 401, message: 'unauthorized: authentication required' });
      expect(anonymous.events).toEqual([]);
      const wrong = await store.puller(lock).pull(pullJob({ ...job, auth: { username: 'alice', password: 'nope' } }), recordingJobContext()).catch((e: unknown) => e);
      expect(wrong).toMatchObject({ status: 401 });
      const result = await store.puller(lock).pull(pullJob({ ...job, auth: alice }), recordingJobContext());
      expect(result.images[0].id).toBe(pushed.configDigest);
    });
  });

  describe('with the Bearer token flow', () => {
    let token: TestRegistry;
    let closed: TestRegistry;
    beforeAll(async () => {
      [token, closed] = await Promise.all([startRegistry({ auth: 'token' }), startRegistry({ auth: 'token', anonymous: 'none' })]);
      await pushTestImage(token, 'tok/bb', 'latest', busyboxImage('tok:latest'));
      await pushTestImage(closed, 'tok/bb', 'latest', busyboxImage('tok:latest'));
    });
    afterAll(async () => {
      await Promise.all([token?.stop(), closed?.stop()]);
    });

    it('pulls anonymously where anonymous pull is granted, and with a login where it is not', async () => {
      const store = await newStore();
      const open = await store.puller(lock).pull(pullJob({ image: `${token.host}/tok/bb`, tag: 'latest' }), recordingJobContext());
      expect(open.images[0].downloaded).toBe(true);

      const denied = recordingJobContext();
      const job = { image: `${closed.host}/tok/bb`, tag: 'latest' };
      const error = await store.puller(lock).pull(pullJob(job), denied).catch((e: unknown) => e);
      const message = `pull access denied for ${closed.host}/tok/bb, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`;
      expect(error).toMatchObject({ status: 404, message });
      expect(denied.events).toEqual([]);

      const wrong = await store.puller(lock).pull(pullJob({ ...job, auth: { username: 'alice', password: 'nope' } }), recordingJobContext()).catch((e: unknown) => e);
      expect(wrong).toMatchObject({ status: 401, message: 'unauthorized: incorrect username or password' });
      const ok = await store.puller(lock).pull(pullJob({ ...job, auth: alice }), recordingJobContext());
      expect(ok.images[0].reference).toBe(`${closed.host}/tok/bb:latest`);
    });

    it('pushes with a login, and fails in the stream without one', async () => {
      const store = await newStore();
      await store.puller(lock).pull(pullJob({ image: `${token.host}/tok/bb`, tag: 'latest' }), recordingJobContext());
      await store.tagging.tag(`${token.host}/tok/bb:latest`, `${token.host}/tok/pushed`, '1');
      const anonymous = recordingJobContext();
      const refused = await store.pusher().push(pushJob({ name: `${token.host}/tok/pushed`, tag: '1' }), anonymous).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PermanentJobError);
      // The first of the registry's errors (docker-registry adds `unauthorized` to the token's `denied`), as dockerd shows it.
      expect(refused).toMatchObject({ message: 'denied: requested access to the resource is denied', status: 403 });
      expect(anonymous.events[0]).toEqual({ status: `The push refers to repository [${token.host}/tok/pushed]` });
      const result = await store.pusher().push(pushJob({ name: `${token.host}/tok/pushed`, tag: '1', auth: alice }), recordingJobContext());
      expect(result.pushed).toHaveLength(1);
    });
  });

  describe('push', () => {
    let target: TestRegistry;
    let store: Store;
    beforeAll(async () => {
      target = await startRegistry();
      store = await newStore();
      await store.puller(lock).pull(pullJob({ image: `${open.host}/team/multi`, tag: '1' }), recordingJobContext());
      await store.tagging.tag(`${open.host}/team/multi:1`, `${target.host}/app`, '1');
      await store.tagging.tag(`${open.host}/team/multi:1`, `${target.host}/app`, '2');
    });
    afterAll(() => target?.stop());

    it('pushes every tag of a new repository, which skopeo reads back with the same digest', async () => {
      const ctx = recordingJobContext();
      const result = await store.pusher().push(pushJob({ name: `${target.host}/app` }), ctx);
      expect(result.pushed).toEqual([
        { tag: '1', digest: multi.manifestDigest, size: multi.manifestSize },
        { tag: '2', digest: multi.manifestDigest, size: multi.manifestSize },
      ]);
      expect(ctx.events[0]).toEqual({ status: `The push refers to repository [${target.host}/app]` });
      const topFirst = [...multi.diffIds].reverse().map(short);
      expect(ctx.events.filter((e) => e.status === 'Preparing').map((e) => e.id)).toEqual([...topFirst, ...topFirst]);
      for (const id of topFirst) {
        expect(layerLines(ctx.events, id)).toEqual(['Preparing', 'Pushed', 'Preparing', 'Layer already exists']);
      }
      expect(ctx.events.filter((e) => e.status?.includes(': digest: '))).toEqual([
        { status: `1: digest: ${multi.manifestDigest} size: ${multi.manifestSize}` },
        { status: `2: digest: ${multi.manifestDigest} size: ${multi.manifestSize}` },
      ]);
      expect(ctx.events.filter((e) => e.aux)).toEqual([
        { progressDetail: {}, aux: { Tag: '1', Digest: multi.manifestDigest, Size: multi.manifestSize } },
        { progressDetail: {}, aux: { Tag: '2', Digest: multi.manifestDigest, Size: multi.manifestSize } },
      ]);
      const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${target.host}/app:1`]);
      const inspected = JSON.parse(stdout) as { Digest: string; Layers: string[] };
      expect(inspected.Digest).toBe(multi.manifestDigest);
      expect(inspected.Layers).toEqual(multi.layers.map((l) => l.digest));
      expect((await store.catalog.inspect(`${target.host}/app:1`)).RepoDigests).toContain(`${target.host}/app@${multi.manifestDigest}`);
    });

    it('finds every layer already there when pushing again', async () => {
      const ctx = recordingJobContext();
      await store.pusher().push(pushJob({ name: `${target.host}/app`, tag: '1' }), ctx);
      for (const diffId of multi.diffIds) expect(layerLines(ctx.events, short(diffId))).toEqual(['Preparing', 'Layer already exists']);
    });

    it('mounts layers from another repository of the same registry', async () => {
      await store.tagging.tag(`${open.host}/team/multi:1`, `${target.host}/other/app`, 'v1');
      const ctx = recordingJobContext();
      await store.pusher().push(pushJob({ name: `${target.host}/other/app`, tag: 'v1' }), ctx);
      for (const diffId of multi.diffIds) expect(layerLines(ctx.events, short(diffId))).toEqual(['Preparing', 'Mounted from app']);
      const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${target.host}/other/app:v1`]);
      expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(multi.manifestDigest);
    });

    it('reports a repository with no local image in the stream, after naming it (dockerd)', async () => {
      const ctx = recordingJobContext();
      const error = await store.pusher().push(pushJob({ name: `${target.host}/nothing` }), ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentJobError);
      expect(error).toMatchObject({ message: `An image does not exist locally with the tag: ${target.host}/nothing`, status: 404 });
      expect(ctx.events).toEqual([{ status: `The push refers to repository [${target.host}/nothing]` }]);
      const missingTag = await store.pusher().push(pushJob({ name: `${target.host}/app`, tag: 'nope' }), recordingJobContext()).catch((e: unknown) => e);
      expect(missingTag).toMatchObject({ message: `tag does not exist: ${target.host}/app:nope`, status: 404 });
    });
  });
});
