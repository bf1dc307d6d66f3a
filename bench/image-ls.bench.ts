/**
 * `docker image ls` latency with 10,000 images in the store (target: p99 under 100 ms).
 * Seeds the running system's own database through the image store's commit path, then times
 * `GET /images/json` from this process and `docker image ls` through the real CLI.
 * Run: npm run bench:ls   (BENCH_IMAGES=… to change the count)
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '@cargohold/db';
import { ImageCommitService, ImageReferencesRepository } from '@cargohold/image-store';
import { parseReference, sha256Of } from '@cargohold/oci';
import { ALL_BLOBS_PRESENT, dockerCli, startSystem } from '@cargohold/testing';
import { percentile, printTable, timeRuns } from './bench.util';


const IMAGES = Number(process.env.BENCH_IMAGES ?? 10_000);
const REQUESTS = 200;

function syntheticImage(i: number) {
  const diffId = sha256Of(`layer-${i}`);
  const created = new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created,
      config: { Labels: { 'bench.index': String(i), 'bench.team': `team-${i % 20}` }, Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: `seed ${i}` }],
    }),
  );
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: sha256Of(config) }, seed: i }));
  const ref = parseReference(`bench/app-${i % 500}:v${i}`);
  return {
    config: { digest: sha256Of(config), bytes: config },
    manifest: { digest: sha256Of(manifest), mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: manifest },
    layers: [{ digest: diffId, size: 1024, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId, contentSize: 1000 }],
    tags: [{ ...ref, tag: ref.tag ?? 'latest' }],
    recordDigests: true,
  };
}

async function main(): Promise<void> {
  const system = await startSystem();
  try {
    const ds = await openDatabase({ type: 'sqlite', file: path.join(system.dataDir, 'cargohold.sqlite') });
    const commits = new ImageCommitService(ds, new ImageReferencesRepository(ds), ALL_BLOBS_PRESENT);
    const seedStart = performance.now();
    for (let i = 0; i < IMAGES; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, IMAGES - i) }, (_, j) => commits.commit(syntheticImage(i + j))));
    }
    console.log(`seeded ${IMAGES} images in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
    await ds.destroy();

    const api = async (query = '') => {
      const res = await fetch(`${system.url}/v1.47/images/json${query}`);
      if (res.status !== 200) throw new Error(`GET /images/json answered ${res.status}`);
      await res.arrayBuffer();
    };
    await api();
    const plain = await timeRuns(REQUESTS, () => api());
    const filtered = await timeRuns(REQUESTS, () => api(`?filters=${encodeURIComponent('{"label":{"bench.team=team-3":true}}')}`));
    const cli = dockerCli(system.dockerHost);
    const viaCli = await timeRuns(10, async () => void (await cli.run(['image', 'ls', '-q'])));

    const row = (name: string, t: number[]) => [name, String(t.length), percentile(t, 50).toFixed(1), percentile(t, 99).toFixed(1), percentile(t, 99) < 100 ? 'yes' : 'NO'];
    console.log(`\n${IMAGES} images, ${IMAGES} RepoTags across 500 repositories\n`);
    printTable([
      ['request', 'n', 'p50 (ms)', 'p99 (ms)', 'p99 < 100 ms'],
      row('GET /images/json', plain),
      row('GET /images/json label filter', filtered),
      row('docker image ls -q (whole CLI run)', viaCli),
    ]);
  } finally {
    await system.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
