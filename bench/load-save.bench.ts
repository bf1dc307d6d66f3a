/**
 * `docker load` and `docker save` of a ≥300 MB, 7-layer image: cargohold (embedded defaults,
 * through the docker CLI) side by side with a real dockerd (vfs) on the same machine, same
 * archive, in one run. Run: npm run bench:load
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dockerCli, largeImage, startDockerd, startSystem, writeDockerArchive } from '@cargohold/testing';
import { median, printTable, timeRuns } from './bench.util';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TAG = 'bench/large:1';

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cargohold-bench-'));
  const archive = path.join(dir, 'large.tar');
  console.log('writing a 7-layer, 300 MB archive…');
  await writeDockerArchive(archive, [largeImage(TAG, 7, 300)], { format: 'oci' });
  const mb = statSync(archive).size / 1e6;

  const system = await startSystem();
  const dockerd = await startDockerd();
  const targets = [{ name: 'cargohold', cli: dockerCli(system.dockerHost) }];
  if (dockerd) targets.push({ name: 'dockerd (vfs)', cli: dockerCli(dockerd.host) });
  else console.log('dockerd could not start here: cargohold figures only');

  const rows = [['tool', 'load median (s)', 'load MB/s', 'save median (s)', 'save MB/s']];
  try {
    for (const { name, cli } of targets) {
      const rmImage = async () => {
        await cli.run(['image', 'rm', '-f', TAG], { allowFailure: true });
      };
      const load = await timeRuns(RUNS, async () => void (await cli.run(['load', '-i', archive])), rmImage);
      const out = path.join(dir, `saved-${name.split(' ')[0]}.tar`);
      const save = await timeRuns(RUNS, async () => void (await cli.run(['save', '-o', out, TAG])), async () => rmSync(out, { force: true }));
      const l = median(load) / 1000;
      const s = median(save) / 1000;
      rows.push([name, l.toFixed(2), (mb / l).toFixed(0), s.toFixed(2), (mb / s).toFixed(0)]);
    }
  } finally {
    await system.stop();
    await dockerd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\narchive: ${mb.toFixed(0)} MB, 7 layers; ${RUNS} runs each, median\n`);
  printTable(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
