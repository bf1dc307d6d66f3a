import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueName } from '@cargohold/queue-contracts';
import { busyboxImage, dockerCli, largeImage, multiLayerImage, startSystem, writeDockerArchive } from '@cargohold/testing';
import type { WrittenImage } from '@cargohold/testing';

type System = Awaited<ReturnType<typeof startSystem>>;
type Cli = ReturnType<typeof dockerCli>;

/** How long the gateway reuses cluster state between scrapes (ADR 0009). */
const STATE_TTL_MS = 5_000;
const ADMIN_TOKEN = 'e2e-metrics-admin-token-0123456789abcdef';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const METRIC_NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"';
const SAMPLE_RE = new RegExp(`^(${METRIC_NAME})(?:\\{((?:${LABEL},)*(?:${LABEL})?)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL_RE = new RegExp(LABEL, 'g');
// prom-client writes NaN as `Nan`; Prometheus reads special values case-insensitively.
const VALUE_RE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Nn][Aa][Nn]|[+-]Inf)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * A strict reader of the Prometheus text format 0.0.4 (prom-client ships no parser): every line
 * is a HELP, a TYPE, a sample or empty; a family is typed once, before its samples; a sample belongs to
 * a typed family (histograms own `_bucket`, `_sum`, `_count`); no series appears twice; the
 * body ends with a newline. Throws naming the first line that breaks a rule.
 */
function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seen = new Set<string>();
  const samples: Sample[] = [];
  const lines = text.slice(0, -1).split('\n');
  for (const [i, line] of lines.entries()) {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '') continue; // the format ignores empty lines; prom-client puts one between families
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line) ?? fail('a comment that is neither HELP nor TYPE');
      const [, kind, name, rest] = meta;
      if (!new RegExp(`^${METRIC_NAME}$`).test(name)) fail('bad metric name');
      if (kind === 'HELP') {
        if (helps.has(name)) fail('a second HELP');
        helps.add(name);
      } else {
        if (types.has(name)) fail('a second TYPE');
        if (!TYPES.has(rest)) fail('unknown type');
        if (samples.some((s) => familyOf(s.name, types) === name)) fail('TYPE after samples of its family');
        types.set(name, rest);
      }
      continue;
    }
    const match = SAMPLE_RE.exec(line) ?? fail('not a sample line');
    const [, name, labelText = '', , , , , value] = match;
    if (!VALUE_RE.test(value)) fail('bad value');
    const labels: Record<string, string> = {};
    for (const [, key, raw] of labelText.matchAll(LABEL_RE)) {
      if (key in labels) fail(`label ${key} twice`);
      labels[key] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    if (familyOf(name, types) === undefined) fail('a sample of no TYPEd family');
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(series)) fail('a series twice');
    seen.add(series);
    samples.push({ name, labels, value: Number(value.replace('Inf', 'Infinity')) });
  }
  return { types, samples };
}

function familyOf(sample: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(sample)) return sample;
  const base = sample.replace(/_(bucket|sum|count)$/, '');
  return base !== sample && (types.get(base) === 'histogram' || types.get(base) === 'summary') ? base : undefined;
}

/** The value of the one sample of `name` whose labels include `labels`; 0 when there is none (a counter not yet touched). */
function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1 && Object.keys(labels).length) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value ?? 0;
}

function has(exposition: Exposition, name: string, labels: Record<string, string> = {}): boolean {
  return exposition.samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

const sha256 = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * `GET /metrics` on a running cargohold: the docker CLI does real work (loads, listings, a
 * failing inspect, a prune), a gc sweep runs through the native API, then the scrape must parse,
 * count those requests under their route patterns, and report the store as `docker image ls -a`
 * shows it; with authentication on, it takes an admin token.
 */
describe('GET /metrics', () => {
  let dir: string;
  const written: Record<string, WrittenImage> = {};

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cargohold-e2e-metrics-'));
    const archives: Array<[string, Parameters<typeof writeDockerArchive>[1], 'oci' | 'docker-archive-legacy']> = [
      ['busybox', [busyboxImage('busybox:latest')], 'oci'],
      ['app', [multiLayerImage('team/app:1', 3)], 'docker-archive-legacy'],
      ['dangle-1', [{ ...busyboxImage('dangle:1'), config: { Env: ['V=1'] } }], 'oci'],
      ['dangle-2', [{ ...busyboxImage('dangle:1'), config: { Env: ['V=2'] } }], 'oci'],
      // One layer larger than loopback's socket buffers, so a response of it cannot end before its reader does.
      ['big', [largeImage('big:1', 1, 40)], 'docker-archive-legacy'],
    ];
    for (const [name, images, format] of archives) {
      const archive = await writeDockerArchive(path.join(dir, `${name}.tar`), images, { format });
      written[name] = archive.images[0];
    }
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('with authentication off', () => {
    let system: System;
    let docker: Cli;
    let lastScrapeAt = 0;

    const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

    async function scrape(): Promise<Exposition> {
      const res = await request(system.url).get('/metrics');
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      lastScrapeAt = Date.now();
      return parseExposition(res.text);
    }

    /** A scrape whose cluster state was read after everything before this call (the state is reused for STATE_TTL_MS). */
    async function freshScrape(): Promise<Exposition> {
      await sleep(Math.max(0, lastScrapeAt + STATE_TTL_MS + 100 - Date.now()));
      return scrape();
    }

    /** What `docker image ls -a` and `docker image inspect` show, reduced to what the store gauges count. */
    async function dockerView(): Promise<{ images: number; tagged: number; dangling: number; blobs: Set<string> }> {
      const rows = lines((await docker.run(['image', 'ls', '-a', '--no-trunc', '--format', '{{.ID}} {{.Tag}}'])).stdout).map((l) => l.split(' '));
      const ids = new Set(rows.map(([id]) => id));
      const tagged = new Set(rows.filter(([, tag]) => tag !== '<none>').map(([id]) => id));
      const dangling = new Set(lines((await docker.run(['image', 'ls', '-a', '--no-trunc', '-q', '--filter', 'dangling=true'])).stdout));
      // Loaded layers are stored as they came (uncompressed): a layer blob's digest is its diff ID; a config's is the image ID.
      const blobs = new Set(ids);
      const inspected = JSON.parse((await docker.run(['image', 'inspect', ...ids])).stdout) as Array<{ RootFS: { Layers: string[] } }>;
      for (const image of inspected) for (const layer of image.RootFS.Layers) blobs.add(layer);
      return { images: ids.size, tagged: tagged.size, dangling: dangling.size, blobs };
    }

    /** Bytes of those blobs as the fixtures wrote them: layer tars and config documents. */
    function blobBytes(blobs: ReadonlySet<string>): number {
      const sizes = new Map<string, number>();
      for (const image of Object.values(written)) {
        const config = JSON.stringify(image.config);
        expect(sha256(config)).toBe(image.id);
        sizes.set(image.id, Buffer.byteLength(config));
        image.diffIds.forEach((diffId, i) => sizes.set(diffId, image.layerSizes[i]));
      }
      let total = 0;
      for (const digest of blobs) total += sizes.get(digest) ?? Number.NaN;
      return total;
    }

    beforeAll(async () => {
      system = await startSystem();
      docker = dockerCli(system.dockerHost);
    }, 300_000);

    afterAll(async () => {
      await docker?.dispose();
      await system?.stop();
    });

    it('serves the Prometheus text format, with the process metrics and every family typed', async () => {
      const exposition = await scrape();
      expect(exposition.types.get('process_cpu_user_seconds_total')).toBe('counter');
      expect(exposition.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
      expect(exposition.types.get('cargohold_http_requests_total')).toBe('counter');
      expect(exposition.types.get('cargohold_http_request_duration_seconds')).toBe('histogram');
      for (const gauge of ['cargohold_images', 'cargohold_images_tagged', 'cargohold_images_dangling', 'cargohold_blobs', 'cargohold_blob_bytes', 'cargohold_build_cache_entries', 'cargohold_containers', 'cargohold_queue_jobs']) {
        expect(exposition.types.get(gauge), gauge).toBe('gauge');
      }
      for (const source of ['database', 'queues', 'gc']) expect(valueOf(exposition, 'cargohold_metrics_source_up', { source }), source).toBe(1);
      // Nothing swept yet: the last-sweep gauges have no sample rather than a made-up 0.
      expect(exposition.types.get('cargohold_gc_last_sweep_timestamp_seconds')).toBe('gauge');
      expect(has(exposition, 'cargohold_gc_last_sweep_timestamp_seconds')).toBe(false);
      expect(has(exposition, 'cargohold_images')).toBe(true);
      expect(valueOf(exposition, 'cargohold_images')).toBe(0);
    });

    it('counts the docker CLI requests under their route patterns with their status, and the store matches docker image ls -a', async () => {
      const before = await scrape();
      for (const name of ['busybox', 'app', 'dangle-1', 'dangle-2', 'big']) {
        expect((await docker.run(['load', '-i', path.join(dir, `${name}.tar`)])).stdout).toContain('Loaded image:');
      }
      expect(lines((await docker.run(['image', 'ls'])).stdout)[0]).toMatch(/^REPOSITORY\s+TAG/);
      const missing = await docker.run(['image', 'inspect', 'nope:1'], { allowFailure: true });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('No such image: nope:1');
      // A digest in the URL (an image ID is no manifest digest: 404 too), which must not reach a label.
      const byDigest = await docker.run(['image', 'inspect', `busybox@${written.busybox.id}`], { allowFailure: true });
      expect(byDigest.code).not.toBe(0);
      const view = await dockerView();
      const after = await freshScrape();

      const requests = (labels: Record<string, string>) => valueOf(after, 'cargohold_http_requests_total', labels) - valueOf(before, 'cargohold_http_requests_total', labels);
      const load = { api: 'docker', method: 'POST', route: '/images/load' };
      expect(requests({ ...load, status: '200' })).toBe(5);
      expect(requests({ api: 'docker', method: 'GET', route: '/images/json', status: '200' })).toBeGreaterThanOrEqual(3);
      expect(requests({ api: 'docker', method: 'GET', route: '/images/:name/json', status: '404' })).toBe(2);
      expect(requests({ api: 'docker', method: 'GET', route: '/images/:name/json', status: '200' })).toBeGreaterThanOrEqual(5);
      expect(requests({ api: 'docker', method: 'HEAD', route: '/_ping', status: '200' })).toBeGreaterThanOrEqual(8);
      const loads = (e: Exposition) => valueOf(e, 'cargohold_http_request_duration_seconds_count', load);
      expect(loads(after) - loads(before)).toBe(5);
      expect(valueOf(after, 'cargohold_http_request_duration_seconds_bucket', { ...load, le: '+Inf' })).toBe(loads(after));
      expect(valueOf(after, 'cargohold_http_request_duration_seconds_sum', load)).toBeGreaterThan(0);

      // Labels are patterns: no digest, name or raw URL anywhere.
      for (const sample of after.samples) {
        for (const value of Object.values(sample.labels)) {
          expect(value, `${sample.name} ${JSON.stringify(sample.labels)}`).not.toMatch(/sha256|[a-f0-9]{64}|busybox|nope|dangle|team\/app/);
        }
        if (sample.labels.route !== undefined) expect(sample.labels.route).toMatch(/^(unmatched|(\/[a-z0-9_.:*-]*)+)$/i);
        if (sample.labels.api !== undefined) expect(['docker', 'registry', 'native', 'other']).toContain(sample.labels.api);
      }

      expect(view).toMatchObject({ images: 5, tagged: 4, dangling: 1 });
      expect(valueOf(after, 'cargohold_images')).toBe(view.images);
      expect(valueOf(after, 'cargohold_images_tagged')).toBe(view.tagged);
      expect(valueOf(after, 'cargohold_images_dangling')).toBe(view.dangling);
      expect(valueOf(after, 'cargohold_blobs')).toBe(view.blobs.size);
      expect(valueOf(after, 'cargohold_blob_bytes')).toBe(blobBytes(view.blobs));
      expect(valueOf(after, 'cargohold_build_cache_entries')).toBe(0);
      expect(valueOf(after, 'cargohold_containers')).toBe(0);
    });

    it('reports job counts by state for every queue', async () => {
      const exposition = await scrape();
      for (const queue of Object.values(QueueName)) {
        for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed']) {
          expect(has(exposition, 'cargohold_queue_jobs', { queue, state }), `${queue} ${state}`).toBe(true);
        }
      }
      expect(valueOf(exposition, 'cargohold_queue_jobs', { queue: QueueName.Puller, state: 'completed' })).toBeGreaterThanOrEqual(5);
      expect(valueOf(exposition, 'cargohold_queue_jobs', { queue: QueueName.Puller, state: 'active' })).toBe(0);
    });

    it('times a streamed response until its last byte, and counts one cut short as 499', async () => {
      const big = written.big;
      const blob = big.diffIds[0];
      expect(big.layerSizes[0]).toBeGreaterThan(32 * 1024 ** 2);
      const route = { api: 'registry', method: 'GET', route: '/v2/:name/blobs/:digest' };
      const before = await scrape();

      const slow = await fetch(`${system.url}/v2/big/blobs/${blob}`);
      expect(slow.status).toBe(200);
      await sleep(1_500);
      expect((await slow.arrayBuffer()).byteLength).toBe(big.layerSizes[0]);

      const abort = new AbortController();
      const cut = await fetch(`${system.url}/v2/big/blobs/${blob}`, { signal: abort.signal });
      const reader = cut.body!.getReader();
      await reader.read();
      abort.abort();
      await reader.closed.catch(() => undefined);
      await sleep(200);

      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
      expect(delta('cargohold_http_requests_total', { ...route, status: '200' })).toBe(1);
      expect(delta('cargohold_http_requests_total', { ...route, status: '499' })).toBe(1);
      expect(delta('cargohold_http_request_duration_seconds_count', route)).toBe(2);
      expect(delta('cargohold_http_request_duration_seconds_sum', route)).toBeGreaterThanOrEqual(1.4);
    });

    it('reports the last gc sweep from where sweeps are recorded, and ignores dry runs', async () => {
      const pruned = await docker.run(['image', 'prune', '-f']);
      expect(pruned.stdout).toContain(`deleted: ${written['dangle-1'].id}`);
      const started = Date.now();
      const sweep = await request(system.url).post('/api/v1/gc/sweep').send({ graceSeconds: 0 });
      expect(sweep.status, sweep.text).toBe(200);
      const finished = Date.now();
      expect(sweep.body).toMatchObject({ dryRun: false, blobsDeleted: expect.any(Number) });
      expect(sweep.body.blobsDeleted).toBeGreaterThanOrEqual(1);
      const dry = await request(system.url).post('/api/v1/gc/sweep').send({ graceSeconds: 0, dryRun: true });
      expect(dry.status, dry.text).toBe(200);

      const view = await dockerView();
      const exposition = await freshScrape();
      const timestamp = valueOf(exposition, 'cargohold_gc_last_sweep_timestamp_seconds');
      expect(timestamp * 1000).toBeGreaterThanOrEqual(started - 1_000);
      expect(timestamp * 1000).toBeLessThanOrEqual(finished + 1_000);
      expect(valueOf(exposition, 'cargohold_gc_last_sweep_deleted_blobs')).toBe(sweep.body.blobsDeleted);
      expect(valueOf(exposition, 'cargohold_gc_last_sweep_freed_bytes')).toBe(sweep.body.bytesFreed);
      expect(valueOf(exposition, 'cargohold_gc_last_sweep_duration_seconds')).toBeCloseTo(sweep.body.durationMs / 1000, 6);
      expect(valueOf(exposition, 'cargohold_http_requests_total', { api: 'native', method: 'POST', route: '/api/v1/gc/sweep', status: '200' })).toBe(2);
      // Counted with the status sent, whatever it is (Nest answers a POST 201 unless told otherwise).
      const prunes = exposition.samples.filter((s) => s.name === 'cargohold_http_requests_total' && s.labels.route === '/images/prune');
      expect(prunes.map((s) => [s.labels.api, s.labels.method, s.value])).toEqual([['docker', 'POST', 1]]);
      expect(prunes[0].labels.status).toMatch(/^2\d\d$/);

      // The pruned image and the blob only it held are gone from the gauges as from docker's view.
      expect(view).toMatchObject({ images: 4, tagged: 4, dangling: 0 });
      expect(valueOf(exposition, 'cargohold_images')).toBe(view.images);
      expect(valueOf(exposition, 'cargohold_images_dangling')).toBe(0);
      expect(valueOf(exposition, 'cargohold_blobs')).toBe(view.blobs.size);
      expect(valueOf(exposition, 'cargohold_blob_bytes')).toBe(blobBytes(view.blobs));
    });
  });

  describe('with authentication on', () => {
    let system: System;
    const api = () => request(system.url);

    beforeAll(async () => {
      system = await startSystem({ env: { CARGOHOLD_AUTH: 'on', CARGOHOLD_ADMIN_TOKEN: ADMIN_TOKEN } });
    }, 300_000);

    afterAll(async () => {
      await system?.stop();
    });

    async function createToken(name: string, scopes: Array<{ repository: string; actions: string[] }>): Promise<string> {
      const res = await api().post('/api/v1/tokens').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name, scopes });
      expect(res.status, res.text).toBe(201);
      return (res.body as { token: string }).token;
    }

    it('refuses a scrape without a valid bearer token with 401 and the challenge', async () => {
      for (const req of [api().get('/metrics'), api().get('/metrics').set('Authorization', 'Bearer chk_wrong'), api().get('/metrics').auth('prometheus', ADMIN_TOKEN)]) {
        const res = await req;
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="cargohold"');
        expect(res.body).toEqual({ message: expect.stringMatching(/^(authentication required|the bearer token is not valid)/) });
      }
    });

    it('refuses a token without admin on ** with 403', async () => {
      const token = await createToken('puller', [{ repository: '**', actions: ['pull', 'push'] }]);
      const res = await api().get('/metrics').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(403);
      expect(res.body.message).toBe('the token "puller" may not read metrics: that takes the admin action on "**"');
    });

    it('serves the metrics to the admin token and to an API token with admin on **', async () => {
      const prometheus = await createToken('prometheus', [{ repository: '**', actions: ['admin'] }]);
      for (const token of [ADMIN_TOKEN, prometheus]) {
        const res = await api().get('/metrics').set('Authorization', `Bearer ${token}`);
        expect(res.status).toBe(200);
        const exposition = parseExposition(res.text);
        expect(valueOf(exposition, 'cargohold_metrics_source_up', { source: 'database' })).toBe(1);
      }
      // The refusals were counted too, under the same route.
      const res = await api().get('/metrics').set('Authorization', `Bearer ${prometheus}`);
      const exposition = parseExposition(res.text);
      expect(valueOf(exposition, 'cargohold_http_requests_total', { api: 'other', method: 'GET', route: '/metrics', status: '401' })).toBe(3);
      expect(valueOf(exposition, 'cargohold_http_requests_total', { api: 'other', method: 'GET', route: '/metrics', status: '403' })).toBe(1);
    });

    it('is listed in the OpenAPI document with the bearer requirement', async () => {
      const doc = await api().get('/api/v1/openapi.json');
      expect(doc.status).toBe(200);
      const operation = doc.body.paths['/metrics']?.get;
      expect(operation).toBeDefined();
      expect(operation.security).toEqual([{ bearer: [] }]);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
      expect(Object.keys(operation.responses['200'].content)).toEqual(['text/plain; version=0.0.4; charset=utf-8']);
      expect(doc.body.paths['/api/v1/tokens']).toBeDefined();
    });
  });
});
