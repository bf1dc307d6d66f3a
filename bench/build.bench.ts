/**
 * `docker build` of a reference context (busybox base, RUN steps, COPY of 2,000 small files, a
 * multi-stage COPY --from), cold (--no-cache) and fully cached, side by side in one run with
 * dockerd's legacy builder, `buildah bud --isolation chroot` and, where the buildx plugin exists,
 * dockerd's BuildKit (`--network none`). Target: at most BuildKit's time, cold and cached.
 * Run: npm run bench:build
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { busyboxImage, dockerCli, startDockerd, startSystem, writeDockerArchive } from '@cargohold/testing';
import { median, printTable, timeRuns } from './bench.util';

const exec = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = 2000;

const DOCKERFILE = [
  'FROM busybox AS build',
  'RUN mkdir -p /out && for i in $(seq 1 50); do echo "$i" > /out/f$i; done',
  'COPY files/ /src/',
  'RUN find /src -type f | wc -l > /out/count',
  'FROM busybox',
  'COPY --from=build /out /out',
  'RUN cat /out/count',
  '',
].join('\n');

function writeReferenceContext(dir: string): string {
  const ctx = path.join(dir, 'context');
  for (let i = 0; i < FILES; i++) {
    const sub = path.join(ctx, 'files', `d${i % 20}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `file-${i}.txt`), `small file ${i}\n`);
  }
  writeFileSync(path.join(ctx, 'Dockerfile'), DOCKERFILE);
  return ctx;
}

interface Row {
  tool: string;
  cold: number | null;
  cached: number | null;
  note?: string;
}

async function measure(build: (noCache: boolean) => Promise<void>): Promise<{ cold: number; cached: number }> {
  const cold = await timeRuns(RUNS, () => build(true));
  await build(false);
  const cached = await timeRuns(RUNS, () => build(false));
  return { cold: median(cold) / 1000, cached: median(cached) / 1000 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cargohold-bench-build-'));
  const rows: Row[] = [];
  try {
    const ctx = writeReferenceContext(dir);
    const busybox = path.join(dir, 'busybox.tar');
    await writeDockerArchive(busybox, [busyboxImage('busybox:latest')], { format: 'docker-archive-legacy' });
    console.log(`reference context: ${FILES} small files, 2 stages, 3 RUN, 2 COPY; ${RUNS} runs each, median\n`);

    const system = await startSystem();
    try {
      const docker = dockerCli(system.dockerHost);
      await docker.run(['load', '-i', busybox]);
      const times = await measure(async (noCache) => void (await docker.run(['build', ...(noCache ? ['--no-cache'] : []), '-q', '-t', 'bench:1', ctx])));
      rows.push({ tool: 'cargohold (docker CLI, legacy API)', ...times });
    } finally {
      await system.stop();
    }

    const dockerd = await startDockerd();
    if (dockerd) {
      try {
        const docker = dockerCli(dockerd.host);
        await docker.run(['load', '-i', busybox]);
        rows.push({ tool: 'dockerd legacy builder (vfs)', ...(await measure(async (noCache) => void (await docker.run(['build', ...(noCache ? ['--no-cache'] : []), '-q', '-t', 'bench:1', ctx])))) });
        const buildkit = await docker.run(['buildx', 'version'], { allowFailure: true });
        if (buildkit.code === 0) {
          const env = { DOCKER_BUILDKIT: '1' };
          rows.push({
            tool: 'dockerd BuildKit (--network none)',
            ...(await measure(async (noCache) => void (await docker.run(['build', '--network', 'none', ...(noCache ? ['--no-cache'] : []), '-q', '-t', 'bench:1', ctx], { env })))),
          });
        } else {
          rows.push({ tool: 'dockerd BuildKit (--network none)', cold: null, cached: null, note: 'not measured: the docker CLI has no buildx plugin (Debian packages none; README, "Not done yet", says how the figures were taken)' });
        }
      } finally {
        await dockerd.stop();
      }
    } else rows.push({ tool: 'dockerd legacy builder', cold: null, cached: null, note: 'dockerd did not start' });

    const buildahRoot = path.join(dir, 'buildah');
    const buildah = (args: string[]) => exec('buildah', ['--root', path.join(buildahRoot, 'root'), '--runroot', path.join(buildahRoot, 'run'), '--storage-driver', 'vfs', ...args], { maxBuffer: 64 * 1024 * 1024 });
    const available = await exec('buildah', ['--version']).then(() => true, () => false);
    if (available) {
      await buildah(['pull', '-q', `docker-archive:${busybox}`]);
      rows.push({
        tool: 'buildah bud --isolation chroot (vfs)',
        ...(await measure(async (noCache) => void (await buildah(['bud', '--isolation', 'chroot', '--layers', ...(noCache ? ['--no-cache'] : []), '-q', '-t', 'bench:1', ctx])))),
      });
    } else rows.push({ tool: 'buildah', cold: null, cached: null, note: 'not installed (apt-get install -y buildah)' });

    const fmt = (v: number | null) => (v === null ? '—' : v.toFixed(2));
    printTable([['tool', 'cold (s)', 'cached (s)', 'note'], ...rows.map((r) => [r.tool, fmt(r.cold), fmt(r.cached), r.note ?? ''])]);
    const ours = rows[0];
    const buildkit = rows.find((r) => r.tool.startsWith('dockerd BuildKit') && r.cold !== null);
    console.log('');
    if (buildkit && ours.cold !== null && ours.cached !== null) {
      console.log(`vs BuildKit: cold ${(ours.cold / buildkit.cold!).toFixed(2)}×, cached ${(ours.cached / buildkit.cached!).toFixed(2)}× (target ≤ 1.0× on both)`);
    } else {
      console.log('vs BuildKit: not measured in this run; ENVIRONMENT.md reports BuildKit at ~2.8 s cold / 0.16 s cached for a context of this shape on this kind of machine');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
