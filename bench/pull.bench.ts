/**
 * docker pull of a ≥300 MB, 7-layer image from a local docker-registry into cargohold, side by
 * side in one run with `skopeo copy docker://… oci:DIR` of the same image (target: cargohold at
 * most 0.8× skopeo's time), plus the re-pull of an image already present (target: under 100 ms).
 * Run: npm run bench:pull
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { busyboxImage, dockerCli, largeImage, pushTestImage, startRegistry, startSystem } from '@cargohold/testing';
import { median, percentile, printTable, timeRuns } from './bench.util';

const exec = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function main(): Promise<void> {
  const registry = await startRegistry();
  const dir = mkdtempSync(path.join(tmpdir(), 'cargohold-bench-pull-'));
  try {
    console.log('pushing a 7-layer, 300 MB image to a local docker-registry (skopeo, gzip)…');
    const pushed = await pushTestImage(registry, 'bench/large', '1', largeImage('bench/large:1', 7, 300));
    await pushTestImage(registry, 'bench/warmup', '1', busyboxImage('bench/warmup:1'));
    const ref = `${registry.host}/bench/large:1`;
    const mb = pushed.layers.reduce((s, l) => s + l.size, 0) / 1e6;

    const skopeo = await timeRuns(
      RUNS,
      async (i) => void (await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${path.join(dir, `oci-${i}`)}:large`])),
    );

    // A fresh store for every cold run: a second pull into the same store would find every layer.
    const cold: number[] = [];
    const warmApi: number[] = [];
    const warmCli: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const system = await startSystem();
      try {
        const docker = dockerCli(system.dockerHost);
        // The service is measured running: a small pull first waits out the workers' start-up.
        await docker.run(['pull', `${registry.host}/bench/warmup:1`]);
        const start = performance.now();
        await docker.run(['pull', ref]);
        cold.push(performance.now() - start);
        if (i === 0) {
          warmCli.push(...(await timeRuns(5, async () => void (await docker.run(['pull', ref])))));
          warmApi.push(
            ...(await timeRuns(20, async () => {
              const res = await fetch(`${system.url}/v1.47/images/create?fromImage=${encodeURIComponent(`${registry.host}/bench/large`)}&tag=1`, { method: 'POST' });
              await res.text();
            })),
          );
        }
      } finally {
        await system.stop();
      }
    }
    const s = median(skopeo) / 1000;
    const c = median(cold) / 1000;
    console.log(`\nimage: ${mb.toFixed(0)} MB compressed, 7 layers; ${RUNS} runs each, median\n`);
    printTable([
      ['tool', 'pull median (s)', 'MB/s', 'vs skopeo', 'target'],
      ['skopeo copy → oci:DIR', s.toFixed(2), (mb / s).toFixed(0), '1.00×', ''],
      ['cargohold docker pull', c.toFixed(2), (mb / c).toFixed(0), `${(c / s).toFixed(2)}×`, c / s <= 0.8 ? 'met (≤ 0.8×)' : 'NOT met (≤ 0.8×)'],
    ]);
    console.log('');
    printTable([
      ['re-pull, image present', 'n', 'p50 (ms)', 'p99 (ms)', 'target < 100 ms'],
      ['POST /images/create (API)', String(warmApi.length), percentile(warmApi, 50).toFixed(1), percentile(warmApi, 99).toFixed(1), percentile(warmApi, 99) < 100 ? 'met' : 'NOT met'],
      ['docker pull (whole CLI run)', String(warmCli.length), percentile(warmCli, 50).toFixed(1), percentile(warmCli, 99).toFixed(1), ''],
    ]);
  } finally {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
