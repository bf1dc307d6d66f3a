/**
 * Garbage collection of 2,000 small images with half of them deleted: cargohold's online sweep
 * (`POST /api/v1/gc/sweep`, the service keeps running) side by side with Debian's
 * docker-registry (CNCF distribution 2.8) `garbage-collect`, which is offline (the registry is
 * stopped first), over the same images pushed byte for byte to both. Target: cargohold at most
 * 0.5× docker-registry's time. Afterwards every kept image must still pull and every deleted
 * image's own blobs must be gone, on both.
 * Run: npm run bench:gc   (BENCH_RUNS=3 for the median of three rounds on fresh stores)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { sha256Of } from '@cargohold/oci';
import { deterministicBuffer, startRegistry, startSystem } from '@cargohold/testing';
import type { SystemHandle, TestRegistry } from '@cargohold/testing';
import { median, printTable } from './bench.util';

const exec = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const REPOSITORIES = 20;
const TAGS_PER_REPOSITORY = Number(process.env.BENCH_TAGS ?? 100);
const CONCURRENCY = 16;
const SAMPLE = 100;
const UNIQUE_FILE_BYTES = 4 * 1024;
const BASE_FILE_BYTES = 64 * 1024;
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const CREATED = '2024-01-01T00:00:00Z';

interface Blob {
  digest: string;
  bytes: Buffer;
}

interface BenchImage {
  repository: string;
  tag: string;
  /** Every second image is deleted before the gc runs. */
  doomed: boolean;
  layer: Blob;
  config: Blob;
  manifest: Blob;
}

interface GcOutcome {
  seconds: number;
  blobsDeleted: number;
  bytesFreed: number;
}

const blobOf = (bytes: Buffer): Blob => ({ digest: sha256Of(bytes), bytes });

/** A ustar archive holding one regular file: an uncompressed layer, so its diff ID is its digest. */
function tarWithFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string): void => void header.write(value.padEnd(length, '\0').slice(0, length), offset, 'latin1');
  const octal = (offset: number, length: number, value: number): void => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, content.length);
  octal(136, 12, Date.parse(CREATED) / 1000);
  field(148, 8, ' '.repeat(8)); // counted as spaces while the checksum is computed
  field(156, 1, '0');
  field(257, 8, 'ustar\u000000');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

/** The same bytes on every run: a shared base layer and, per image, one unique layer, a config and a manifest. */
function generateImages(): { base: Blob; images: BenchImage[] } {
  const base = blobOf(tarWithFile('base/data', deterministicBuffer(BASE_FILE_BYTES, 'gc-bench-base')));
  const images: BenchImage[] = [];
  for (let r = 0; r < REPOSITORIES; r++) {
    for (let t = 0; t < TAGS_PER_REPOSITORY; t++) {
      const n = r * TAGS_PER_REPOSITORY + t;
      const layer = blobOf(tarWithFile(`app/${n}`, deterministicBuffer(UNIQUE_FILE_BYTES, `gc-bench-${n}`)));
      const config = blobOf(
        Buffer.from(
          JSON.stringify({
            architecture: 'amd64',
            os: 'linux',
            created: CREATED,
            config: { Cmd: ['/app'], Labels: { 'bench.image': String(n) } },
            rootfs: { type: 'layers', diff_ids: [base.digest, layer.digest] },
            history: [{ created: CREATED, created_by: 'base' }, { created: CREATED, created_by: `app ${n}` }],
          }),
        ),
      );
      const descriptor = (mediaType: string, blob: Blob) => ({ mediaType, digest: blob.digest, size: blob.bytes.length });
      const manifest = blobOf(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MANIFEST_TYPE,
            config: descriptor(CONFIG_TYPE, config),
            layers: [descriptor(LAYER_TYPE, base), descriptor(LAYER_TYPE, layer)],
          }),
        ),
      );
      images.push({ repository: `bench/gc-${r}`, tag: `v${t}`, doomed: n % 2 === 1, layer, config, manifest });
    }
  }
  return { base, images };
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function expectStatus(response: Response, expected: number, what: string): Promise<Response> {
  if (response.status !== expected) throw new Error(`${what}: expected ${expected}, got ${response.status}: ${(await response.text()).slice(0, 500)}`);
  return response;
}

/**
 * Monolithic upload: one POST carrying the blob and `?digest=`. distribution does not finish an
 * upload on the POST (202 and an upload session, as the spec allows), so the blob then goes in
 * one PUT to the session.
 */
async function uploadBlob(url: string, repository: string, blob: Blob): Promise<void> {
  const what = `upload ${blob.digest} to ${url}/v2/${repository}`;
  const headers = { 'content-type': 'application/octet-stream' };
  const started = await fetch(`${url}/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, { method: 'POST', headers, body: blob.bytes });
  if (started.status === 201) return void (await started.body?.cancel());
  await expectStatus(started, 202, what);
  await started.body?.cancel();
  const location = new URL(started.headers.get('location') ?? '', url);
  location.searchParams.set('digest', blob.digest);
  await (await expectStatus(await fetch(location, { method: 'PUT', headers, body: blob.bytes }), 201, what)).body?.cancel();
}

async function putManifest(url: string, image: BenchImage): Promise<string> {
  const response = await fetch(`${url}/v2/${image.repository}/manifests/${image.tag}`, {
    method: 'PUT',
    headers: { 'content-type': MANIFEST_TYPE },
    body: image.manifest.bytes,
  });
  await (await expectStatus(response, 201, `PUT ${image.repository}:${image.tag} to ${url}`)).body?.cancel();
  return response.headers.get('docker-content-digest') ?? '';
}

/** Pushes every image; returns the manifest digest the registry answered for each. */
async function pushAll(url: string, base: Blob, images: BenchImage[]): Promise<string[]> {
  // The base layer once per repository, before the images that share it.
  await forEachLimit([...new Set(images.map((i) => i.repository))], CONCURRENCY, (repository) => uploadBlob(url, repository, base));
  const digests: string[] = new Array<string>(images.length);
  await forEachLimit([...images.keys()], CONCURRENCY, async (i) => {
    await uploadBlob(url, images[i].repository, images[i].layer);
    await uploadBlob(url, images[i].repository, images[i].config);
    digests[i] = await putManifest(url, images[i]);
  });
  return digests;
}

async function deleteDoomed(url: string, images: BenchImage[]): Promise<void> {
  await forEachLimit(
    images.filter((i) => i.doomed),
    CONCURRENCY,
    async (image) => {
      const response = await fetch(`${url}/v2/${image.repository}/manifests/${image.manifest.digest}`, { method: 'DELETE' });
      await (await expectStatus(response, 202, `DELETE ${image.repository}@${image.manifest.digest} on ${url}`)).body?.cancel();
    },
  );
}

/** Every blob file of a stopped docker-registry, with its size. */
async function registryBlobFiles(registry: TestRegistry): Promise<Map<string, number>> {
  const root = path.join(registry.rootDir, 'docker', 'registry', 'v2', 'blobs', 'sha256');
  const files = new Map<string, number>();
  for (const prefix of await readdir(root)) {
    for (const hex of await readdir(path.join(root, prefix))) {
      const data = path.join(root, prefix, hex, 'data');
      if (existsSync(data)) files.set(`sha256:${hex}`, (await stat(data)).size);
    }
  }
  return files;
}

/** docker-registry's gc needs the registry stopped (or read-only): stop it, then time the offline run. */
async function registryGc(registry: TestRegistry): Promise<GcOutcome & { after: Map<string, number> }> {
  await registry.stopServer();
  const before = await registryBlobFiles(registry);
  const start = performance.now();
  const { stdout, stderr } = await exec('docker-registry', ['garbage-collect', registry.configFile], { maxBuffer: 256 * 1024 * 1024 });
  const seconds = (performance.now() - start) / 1000;
  const after = await registryBlobFiles(registry);
  const summary = /(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion/.exec(`${stdout}\n${stderr}`);
  const deleted = [...before.keys()].filter((digest) => !after.has(digest));
  if (!summary || Number(summary[2]) !== deleted.length) {
    throw new Error(`docker-registry garbage-collect: its summary does not match the ${deleted.length} blobs gone from disk:\n${(stdout + stderr).slice(-2000)}`);
  }
  return { seconds, blobsDeleted: deleted.length, bytesFreed: deleted.reduce((sum, digest) => sum + (before.get(digest) ?? 0), 0), after };
}

interface SweepResultBody {
  blobsDeleted: number;
  bytesFreed: number;
  manifestsDeleted: number;
  durationMs: number;
}

async function sweep(system: SystemHandle, body: { dryRun?: boolean; graceSeconds: number }): Promise<SweepResultBody> {
  const response = await fetch(`${system.url}/api/v1/gc/sweep`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await (await expectStatus(response, 200, 'POST /api/v1/gc/sweep')).json()) as SweepResultBody;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, (performance.now() - start) / 1000];
}

/**
 * The online sweep, straight after the deletes, the service still running: a registry DELETE of
 * an image's last manifest link removes the image too (as docker-registry forgets it), so the
 * sweep alone reclaims its blobs.
 */
async function cargoholdGc(system: SystemHandle): Promise<GcOutcome> {
  const [swept, seconds] = await timed(() => sweep(system, { graceSeconds: 0 }));
  return { seconds, blobsDeleted: swept.blobsDeleted, bytesFreed: swept.bytesFreed };
}

/** About `count` items spread evenly over `items`. */
const sampleOf = <T>(items: T[], count: number): T[] => items.filter((_, i) => i % Math.max(1, Math.floor(items.length / count)) === 0).slice(0, count);

async function getStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

/** After the sweep, on the running cargohold: kept images pull intact, deleted images' own blobs are gone. */
async function verifyCargohold(system: SystemHandle, base: Blob, images: BenchImage[]): Promise<void> {
  const problems: string[] = [];
  await forEachLimit(sampleOf(images.filter((i) => !i.doomed), SAMPLE), CONCURRENCY, async (image) => {
    const v2 = `${system.url}/v2/${image.repository}`;
    const manifest = await getStatus(`${v2}/manifests/${image.tag}`, { accept: MANIFEST_TYPE });
    if (manifest.status !== 200 || sha256Of(manifest.body) !== image.manifest.digest) problems.push(`kept ${image.repository}:${image.tag}: manifest GET ${manifest.status}`);
    for (const blob of [base, image.config, image.layer]) {
      const got = await getStatus(`${v2}/blobs/${blob.digest}`);
      if (got.status !== 200 || sha256Of(got.body) !== blob.digest) problems.push(`kept ${image.repository}:${image.tag}: blob ${blob.digest} GET ${got.status}`);
    }
  });
  await forEachLimit(sampleOf(images.filter((i) => i.doomed), SAMPLE), CONCURRENCY, async (image) => {
    const v2 = `${system.url}/v2/${image.repository}`;
    for (const blob of [image.config, image.layer]) {
      const got = await getStatus(`${v2}/blobs/${blob.digest}`);
      if (got.status !== 404) problems.push(`deleted ${image.repository}:${image.tag}: blob ${blob.digest} GET ${got.status}, expected 404`);
    }
  });
  if (problems.length) throw new Error(`cargohold's gc left the store wrong (${problems.length} problems):\n${problems.slice(0, 20).join('\n')}`);
}

/** docker-registry, offline: the same images must have kept or lost their blobs on disk. */
function verifyRegistry(after: Map<string, number>, base: Blob, images: BenchImage[]): void {
  const problems: string[] = [];
  for (const image of images) {
    const own = [image.config, image.layer, image.manifest];
    if (image.doomed) problems.push(...own.filter((b) => after.has(b.digest)).map((b) => `deleted ${image.repository}:${image.tag}: ${b.digest} still on disk`));
    else problems.push(...[base, ...own].filter((b) => !after.has(b.digest)).map((b) => `kept ${image.repository}:${image.tag}: ${b.digest} gone`));
  }
  if (problems.length) throw new Error(`docker-registry garbage-collect did not do the same work (${problems.length} problems):\n${problems.slice(0, 20).join('\n')}`);
}

interface RoundResult {
  registry: GcOutcome;
  sweep: GcOutcome;
}

async function round(n: number, base: Blob, images: BenchImage[]): Promise<RoundResult> {
  const [registry, system] = await Promise.all([startRegistry(), startSystem()]);
  try {
    // The service is measured running: a dry run on the empty store waits out the gc worker's start-up.
    await sweep(system, { dryRun: true, graceSeconds: 0 });
    const pushStart = performance.now();
    const [theirDigests, ourDigests] = await Promise.all([pushAll(registry.url, base, images), pushAll(system.url, base, images)]);
    const mismatch = images.findIndex((image, i) => theirDigests[i] !== image.manifest.digest || ourDigests[i] !== image.manifest.digest);
    if (mismatch >= 0) throw new Error(`image ${mismatch}: docker-registry answered ${theirDigests[mismatch]}, cargohold ${ourDigests[mismatch]}, pushed ${images[mismatch].manifest.digest}`);
    await Promise.all([deleteDoomed(registry.url, images), deleteDoomed(system.url, images)]);
    console.log(`round ${n + 1}: pushed ${images.length} images to both and deleted every second one in ${((performance.now() - pushStart) / 1000).toFixed(1)} s`);

    const ours = await cargoholdGc(system);
    await verifyCargohold(system, base, images);
    const { after, ...theirGc } = await registryGc(registry);
    verifyRegistry(after, base, images);
    console.log(`round ${n + 1}: docker-registry ${theirGc.seconds.toFixed(2)} s; cargohold sweep ${ours.seconds.toFixed(2)} s (${ours.blobsDeleted} blobs)`);
    return { registry: theirGc, sweep: ours };
  } finally {
    await Promise.all([registry.stop(), system.stop()]);
  }
}

const TARGET = 0.5;

function medianOutcome(outcomes: GcOutcome[]): GcOutcome {
  return {
    seconds: median(outcomes.map((o) => o.seconds)),
    blobsDeleted: median(outcomes.map((o) => o.blobsDeleted)),
    bytesFreed: median(outcomes.map((o) => o.bytesFreed)),
  };
}

function row(tool: string, outcome: GcOutcome, base: GcOutcome | null): string[] {
  const ratio = base ? outcome.seconds / base.seconds : 1;
  // Time spent freeing nothing cannot meet a target about reclaiming space.
  const verdict = !base ? '' : outcome.blobsDeleted === 0 ? 'n/a (freed nothing)' : ratio <= TARGET ? 'met' : 'NOT met';
  return [tool, outcome.seconds.toFixed(2), String(outcome.blobsDeleted), String(outcome.bytesFreed), `${ratio.toFixed(2)}×`, verdict];
}

async function main(): Promise<void> {
  await exec('docker-registry', ['--version']).catch((error: { code?: string }) => {
    if (error.code === 'ENOENT') throw new Error('docker-registry is missing: apt-get install -y docker-registry');
  });
  const { base, images } = generateImages();
  const results: RoundResult[] = [];
  for (let n = 0; n < RUNS; n++) results.push(await round(n, base, images));

  const theirs = medianOutcome(results.map((r) => r.registry));
  const deleted = images.filter((i) => i.doomed).length;
  console.log(
    `\n${images.length} images (${REPOSITORIES} repositories × ${TAGS_PER_REPOSITORY} tags), ${deleted} deleted by digest; median of ${RUNS} round${RUNS === 1 ? '' : 's'} on fresh stores\n`,
  );
  printTable([
    ['tool', 'seconds', 'blobs deleted', 'bytes freed', 'vs docker-registry', `target ≤ ${TARGET}×`],
    row('docker-registry garbage-collect (offline)', theirs, null),
    row('cargohold sweep (online)', medianOutcome(results.map((r) => r.sweep)), theirs),
  ]);
  console.log('\ndocker-registry counts each manifest as a blob; cargohold keeps manifests in its database (its manifest rows go in the same sweep).');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
