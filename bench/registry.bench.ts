/**
 * Registry API throughput, side by side with Debian's docker-registry (CNCF distribution) on the
 * same machine, serving the same image: manifest GET requests/s and blob GET MB/s, driven by
 * wrk from a separate process. Target: at least 1.0× docker-registry on both.
 * Run: npm run bench:registry
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { largeImage, pushTestImage, startRegistry, startSystem } from '@cargohold/testing';
import { median, printTable } from './bench.util';

const exec = promisify(execFile);
const DURATION = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 3);
const MANIFEST_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

interface Load {
  requestsPerSecond: number;
  bytesPerSecond: number;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** wrk (one thread, its own process): a load generator that costs the servers as little CPU as possible. */
async function load(url: string, connections: number, headers: Record<string, string> = {}): Promise<Load> {
  const args = ['-t1', `-c${connections}`, `-d${DURATION}s`];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  args.push(url);
  const { stdout } = await exec('wrk', args);
  if (/Non-2xx|Socket errors/.test(stdout)) throw new Error(`${url}: errors under load:\n${stdout}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(stdout);
  if (!rps || !transfer) throw new Error(`unexpected wrk output:\n${stdout}`);
  return { requestsPerSecond: Number(rps[1]), bytesPerSecond: Number(transfer[1]) * UNITS[transfer[2]] };
}

async function main(): Promise<void> {
  await exec('wrk', ['--version']).catch((error: { code?: string }) => {
    if (error.code === 'ENOENT') throw new Error('wrk is missing: apt-get install -y wrk');
  });
  const [registry, system] = await Promise.all([startRegistry(), startSystem()]);
  try {
    console.log('pushing the same 2-layer, 64 MB image to docker-registry and to cargohold (skopeo)…');
    const image = largeImage('bench/registry:1', 2, 64);
    const theirs = await pushTestImage(registry, 'bench/registry', '1', image);
    const ours = await pushTestImage(system.url, 'bench/registry', '1', image);
    if (theirs.manifestDigest !== ours.manifestDigest) throw new Error('the two registries hold different manifests');
    const blob = ours.layers.reduce((a, b) => (b.size > a.size ? b : a));
    const targets = [
      { name: 'docker-registry', url: registry.url },
      { name: 'cargohold', url: system.url },
    ];
    const rows: string[][] = [['server', 'manifest GET (req/s)', 'vs docker-registry', `blob GET ${(blob.size / 1e6).toFixed(0)} MB (MB/s)`, 'vs docker-registry']];
    // This machine's throughput drifts by tens of percent between runs: the two servers take
    // turns, ROUNDS times, and each figure is the median of its rounds.
    const samples = targets.map(() => ({ manifest: [] as number[], blob: [] as number[] }));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, target] of targets.entries()) {
        samples[i].manifest.push((await load(`${target.url}/v2/bench/registry/manifests/1`, 32, { accept: MANIFEST_ACCEPT })).requestsPerSecond);
        samples[i].blob.push((await load(`${target.url}/v2/bench/registry/blobs/${blob.digest}`, 4)).bytesPerSecond / 1e6);
      }
    }
    const results = samples.map((s) => ({ manifest: median(s.manifest), blob: median(s.blob) }));
    const [base, mine] = results;
    rows.push(['docker-registry', base.manifest.toFixed(0), '1.00×', base.blob.toFixed(0), '1.00×']);
    rows.push([
      'cargohold',
      mine.manifest.toFixed(0),
      `${(mine.manifest / base.manifest).toFixed(2)}× ${mine.manifest >= base.manifest ? '(met)' : '(NOT met, ≥ 1.0×)'}`,
      mine.blob.toFixed(0),
      `${(mine.blob / base.blob).toFixed(2)}× ${mine.blob >= base.blob ? '(met)' : '(NOT met, ≥ 1.0×)'}`,
    ]);
    console.log(`\n${ROUNDS} rounds of ${DURATION} s each, median; wrk, one thread: 32 connections for manifests, 4 for blobs\n`);
    printTable(rows);
  } finally {
    await Promise.all([registry.stop(), system.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
