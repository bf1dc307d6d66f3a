import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deterministicBuffer } from '@cargohold/testing';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const OCTET_STREAM = 'application/octet-stream';
const ACCEPT_MANIFESTS = `${OCI_MANIFEST}, ${OCI_INDEX}`;
const SBOM_TYPE = 'application/vnd.cargohold.conformance.sbom.v1';
const SIGNATURE_CONFIG_TYPE = 'application/vnd.cargohold.conformance.signature.config.v1+json';

export interface ConformanceCapabilities {
  /** GET /v2/<name>/referrers/<digest> (spec v1.1 "Listing Referrers"), including the artifactType filter. */
  referrers: boolean;
  /** DELETE /v2/<name>/manifests/<digest> answers 202; false: the suite asserts it is refused with 400 or 405. */
  deleteManifests: boolean;
  /** DELETE /v2/<name>/blobs/<digest> answers 202; false: the suite asserts it is refused with 400 or 405. */
  deleteBlobs: boolean;
  /** A manifest PUT with a `subject` field is answered with `OCI-Subject: <subject digest>`. */
  ociSubjectHeader: boolean;
  /**
   * tags/list returns tags in lexical order, as v1.1 requires. Default true.
   * docker-registry 2.8 lists them in storage order: set false there.
   */
  sortedTagList?: boolean;
  /**
   * tags/list honours `n` and `last` (a page of exactly n tags when more exist, Link or `last` to go on,
   * n=0 gives an empty list), as v1.1 requires. Default true. docker-registry 2.8 ignores both: set false there.
   */
  tagListPagination?: boolean;
  /**
   * A PATCH whose Content-Range does not start at the upload's current offset is refused with 416, as v1.1
   * requires. Default true. docker-registry 2.8 ignores Content-Range and appends: set false there.
   */
  chunkRangeChecks?: boolean;
  /** GET /v2/_catalog with n/last pagination (a Docker Registry API extension, not part of v1.1). Default true. */
  catalog?: boolean;
}

export interface ConformanceTarget {
  /** Base URL, e.g. http://127.0.0.1:5000 (no trailing slash). */
  url: string;
  /** Headers added to every request (e.g. Authorization), may be empty. */
  headers?: Record<string, string>;
  /** Repository namespace to use; each test uses its own repo under it, e.g. `${namespace}/push-chunked`. */
  namespace: string;
  /**
   * Capabilities the target claims. Tests for absent ones are not registered; they are named in the title of
   * a single test, which (when referrers is false) asserts that the referrers endpoint answers 404.
   */
  capabilities: ConformanceCapabilities;
}

/** What a test needs of a response; the body is read in full so that the connection is released. */
interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  /** `METHOD url`, for assertion messages. */
  request: string;
}

interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer;
}

interface ErrorBody {
  errors: Array<{ code: string; message?: unknown; detail?: unknown }>;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

interface IndexBody {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

interface PushedManifest {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Small deterministic content; distinct labels give distinct bytes. */
function contentFor(label: string, size = 64): Buffer {
  return deterministicBuffer(size, `distribution-conformance/${label}`);
}

function summary(reply: Reply): string {
  const text = reply.body.subarray(0, 400).toString('utf8');
  return `${reply.request} answered ${reply.status}${text ? `: ${text}` : ''}`;
}

/** The media type without parameters: the spec tells clients to ignore Content-Type parameters. */
function mediaTypeOf(reply: Reply): string {
  return (reply.headers.get('content-type') ?? '').split(';')[0].trim();
}

function jsonOf<T>(reply: Reply): T {
  try {
    return JSON.parse(reply.body.toString('utf8')) as T;
  } catch {
    throw new Error(`expected a JSON body: ${summary(reply)}`);
  }
}

function expectStatus(reply: Reply, ...statuses: number[]): void {
  expect(statuses, summary(reply)).toContain(reply.status);
}

/** Asserts the spec's error body shape and returns its codes. */
function errorCodesOf(reply: Reply): string[] {
  const body = jsonOf<Partial<ErrorBody>>(reply);
  expect(Array.isArray(body.errors) && body.errors.length > 0, `an "errors" array with at least one entry: ${summary(reply)}`).toBe(true);
  for (const error of body.errors ?? []) {
    expect(error.code, `error codes are uppercase letters and underscores: ${summary(reply)}`).toMatch(/^[A-Z_]+$/);
    if (error.message !== undefined) expect(typeof error.message, `an error message is a string: ${summary(reply)}`).toBe('string');
  }
  return (body.errors ?? []).map((error) => error.code);
}

/** A 4xx with a JSON error body carrying one of `codes`. */
function expectError(reply: Reply, statuses: number[], codes: string[]): void {
  expectStatus(reply, ...statuses);
  const found = errorCodesOf(reply);
  expect(
    found.some((code) => codes.includes(code)),
    `expected error code ${codes.join(' or ')}, got ${found.join(', ')}: ${summary(reply)}`,
  ).toBe(true);
}

function isJson(reply: Reply): boolean {
  return /[/+]json$/.test(mediaTypeOf(reply));
}

/** `Range: 0-<end>` as the spec writes it (no unit). */
function expectUploadRange(reply: Reply, end: number): void {
  expect(reply.headers.get('range'), `Range of ${summary(reply)}`).toBe(`0-${end}`);
}

/** The URL of an RFC 5988 `rel="next"` Link header, or undefined. */
function nextLink(reply: Reply, base: string): URL | undefined {
  const header = reply.headers.get('link');
  if (!header) return undefined;
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header);
  expect(match, `Link header with rel="next" in ${summary(reply)} (got ${header})`).not.toBeNull();
  return new URL(match![1], `${base}/`);
}

/** HTTP against the target, never following redirects: Location headers are asserted, not chased. */
class ConformanceClient {
  constructor(private readonly target: ConformanceTarget) {}

  repo(name: string): string {
    return `${this.target.namespace}/${name}`;
  }

  /** A path (`/v2/...`) or a Location value, absolute or relative to the target. */
  url(pathOrLocation: string): URL {
    return new URL(pathOrLocation, `${this.target.url}/`);
  }

  async send(method: string, where: string | URL, options: RequestOptions = {}): Promise<Reply> {
    const url = typeof where === 'string' ? this.url(where) : where;
    const response = await fetch(url, {
      method,
      headers: { ...this.target.headers, ...options.headers },
      body: options.body,
      redirect: 'manual',
    });
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()), request: `${method} ${url.href}` };
  }

  location(reply: Reply): URL {
    const value = reply.headers.get('location');
    expect(value, `Location header in ${summary(reply)}`).toBeTruthy();
    return this.url(value!);
  }

  /** The upload URL with `digest` set, keeping whatever query the registry put there. */
  withDigest(location: URL, digest: string): URL {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    return url;
  }

  async startUpload(repo: string): Promise<{ reply: Reply; location: URL }> {
    const reply = await this.send('POST', `/v2/${repo}/blobs/uploads/`);
    expectStatus(reply, 202);
    return { reply, location: this.location(reply) };
  }

  /** POST then PUT with the whole blob. */
  async pushBlob(repo: string, bytes: Buffer): Promise<string> {
    const digest = digestOf(bytes);
    const { location } = await this.startUpload(repo);
    const reply = await this.send('PUT', this.withDigest(location, digest), { headers: { 'content-type': OCTET_STREAM }, body: bytes });
    expectStatus(reply, 201);
    return digest;
  }

  putManifest(repo: string, reference: string, manifest: PushedManifest): Promise<Reply> {
    return this.send('PUT', `/v2/${repo}/manifests/${reference}`, { headers: { 'content-type': manifest.mediaType }, body: manifest.bytes });
  }

  getManifest(repo: string, reference: string, method = 'GET'): Promise<Reply> {
    return this.send(method, `/v2/${repo}/manifests/${reference}`, { headers: { accept: ACCEPT_MANIFESTS } });
  }

  /** Uploads a config and a layer for `label` and returns the (not yet pushed) OCI image manifest over them. */
  async prepareImage(repo: string, label: string): Promise<PushedManifest> {
    const layer = contentFor(`${label}/layer`, 128);
    const layerDigest = await this.pushBlob(repo, layer);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
    const configDigest = await this.pushBlob(repo, config);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
      annotations: { 'org.opencontainers.image.title': label },
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    return { digest: digestOf(bytes), bytes, mediaType: OCI_MANIFEST };
  }

  /** Pushes an image for `label`, by digest unless a tag is given. */
  async pushImage(repo: string, label: string, tag?: string): Promise<PushedManifest> {
    const manifest = await this.prepareImage(repo, label);
    expectStatus(await this.putManifest(repo, tag ?? manifest.digest, manifest), 201);
    return manifest;
  }

  /** An OCI artifact manifest naming `subject`; `artifactType` undefined leaves the field out. */
  async prepareArtifact(repo: string, label: string, subject: Descriptor, artifactType: string | undefined, configMediaType = OCI_EMPTY): Promise<PushedManifest> {
    const empty = Buffer.from('{}');
    const emptyDigest = await this.pushBlob(repo, empty);
    const payload = contentFor(`${label}/payload`, 48);
    const payloadDigest = await this.pushBlob(repo, payload);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      ...(artifactType === undefined ? {} : { artifactType }),
      config: { mediaType: configMediaType, digest: emptyDigest, size: empty.length },
      layers: [{ mediaType: OCTET_STREAM, digest: payloadDigest, size: payload.length }],
      subject,
      annotations: { 'org.cargohold.conformance.label': label },
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    return { digest: digestOf(bytes), bytes, mediaType: OCI_MANIFEST };
  }
}

function descriptorOf(manifest: PushedManifest): Descriptor {
  return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
}

/** Capabilities with the optional ones defaulted to what the spec requires. */
function resolveCapabilities(capabilities: ConformanceCapabilities): Required<ConformanceCapabilities> {
  return { sortedTagList: true, tagListPagination: true, chunkRangeChecks: true, catalog: true, ...capabilities };
}

const CAPABILITY_NAMES: Record<keyof ConformanceCapabilities, string> = {
  referrers: 'referrers API',
  deleteManifests: 'manifest deletion',
  deleteBlobs: 'blob deletion',
  ociSubjectHeader: 'OCI-Subject header',
  sortedTagList: 'tags/list in lexical order',
  tagListPagination: 'tags/list n/last pagination',
  chunkRangeChecks: '416 for out-of-order chunks',
  catalog: '_catalog',
};

/**
 * Registers an OCI distribution-spec v1.1 conformance suite (pull, push, content discovery, referrers,
 * content management) against the registry `target()` describes.
 *
 * `target()` is called once while the tests are registered, to read `capabilities` (so `url` may be a
 * getter over a registry that a beforeAll starts), and again inside every test.
 */
export function describeDistributionConformance(title: string, target: () => ConformanceTarget): void {
  const caps = resolveCapabilities(target().capabilities);
  const client = (): ConformanceClient => new ConformanceClient(target());

  describe(title, () => {
    describePull(client);
    describeBlobPush(client, caps);
    describeManifestPush(client, caps);
    describeDiscovery(client, caps);
    if (caps.referrers) describeReferrers(client, caps);
    describeContentManagement(client, caps);
    registerAbsentCapabilities(client, caps);
  });
}

function describePull(client: () => ConformanceClient): void {
  describe('pull', () => {
    it('GET /v2/ answers 200', async () => {
      const c = client();
      const reply = await c.send('GET', '/v2/');
      expectStatus(reply, 200);
      const version = reply.headers.get('docker-distribution-api-version');
      // Optional legacy header; when sent it names the v2 API.
      if (version !== null) expect(version).toMatch(/^registry\/2\./);
    });

    it('GET manifest by tag returns the pushed bytes with Content-Type, Content-Length and Docker-Content-Digest', async () => {
      const c = client();
      const repo = c.repo('pull-manifest-tag');
      const manifest = await c.pushImage(repo, 'pull-manifest-tag', 'v1');
      const reply = await c.getManifest(repo, 'v1');
      expectStatus(reply, 200);
      expect(mediaTypeOf(reply)).toBe(manifest.mediaType);
      expect(reply.headers.get('content-length')).toBe(String(manifest.bytes.length));
      expect(reply.headers.get('docker-content-digest')).toBe(manifest.digest);
      expect(reply.body.equals(manifest.bytes), 'body is byte-identical to the pushed manifest').toBe(true);
    });

    it('GET manifest by digest returns the pushed bytes with Content-Type, Content-Length and Docker-Content-Digest', async () => {
      const c = client();
      const repo = c.repo('pull-manifest-digest');
      const manifest = await c.pushImage(repo, 'pull-manifest-digest');
      const reply = await c.getManifest(repo, manifest.digest);
      expectStatus(reply, 200);
      expect(mediaTypeOf(reply)).toBe(manifest.mediaType);
      expect(reply.headers.get('content-length')).toBe(String(manifest.bytes.length));
      expect(reply.headers.get('docker-content-digest')).toBe(manifest.digest);
      expect(digestOf(reply.body)).toBe(manifest.digest);
    });

    it('HEAD manifest by tag and by digest answers 200 with the GET headers and no body', async () => {
      const c = client();
      const repo = c.repo('pull-manifest-head');
      const manifest = await c.pushImage(repo, 'pull-manifest-head', 'v1');
      for (const reference of ['v1', manifest.digest]) {
        const reply = await c.getManifest(repo, reference, 'HEAD');
        expectStatus(reply, 200);
        expect(mediaTypeOf(reply)).toBe(manifest.mediaType);
        expect(reply.headers.get('content-length')).toBe(String(manifest.bytes.length));
        expect(reply.headers.get('docker-content-digest')).toBe(manifest.digest);
        expect(reply.body.length).toBe(0);
      }
    });

    it('unknown manifest tag or digest: GET answers 404 MANIFEST_UNKNOWN, HEAD answers 404', async () => {
      const c = client();
      const repo = c.repo('pull-manifest-unknown');
      await c.pushImage(repo, 'pull-manifest-unknown', 'present');
      const unknownDigest = digestOf(contentFor('pull-manifest-unknown/never-pushed'));
      for (const reference of ['absent', unknownDigest]) {
        expectError(await c.getManifest(repo, reference), [404], ['MANIFEST_UNKNOWN']);
        expectStatus(await c.getManifest(repo, reference, 'HEAD'), 404);
      }
    });

    it('GET manifest in a repository that does not exist answers 404 NAME_UNKNOWN or MANIFEST_UNKNOWN', async () => {
      const c = client();
      const reply = await c.getManifest(c.repo('pull-no-such-repo'), 'latest');
      expectError(reply, [404], ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
    });

    it('GET and HEAD blob answer 200 with Content-Length and Docker-Content-Digest; GET returns the exact bytes', async () => {
      const c = client();
      const repo = c.repo('pull-blob');
      const bytes = contentFor('pull-blob', 300);
      const digest = await c.pushBlob(repo, bytes);
      const get = await c.send('GET', `/v2/${repo}/blobs/${digest}`);
      expectStatus(get, 200);
      expect(get.headers.get('content-length')).toBe(String(bytes.length));
      expect(get.headers.get('docker-content-digest')).toBe(digest);
      expect(get.body.equals(bytes), 'blob body is byte-identical').toBe(true);
      const head = await c.send('HEAD', `/v2/${repo}/blobs/${digest}`);
      expectStatus(head, 200);
      expect(head.headers.get('content-length')).toBe(String(bytes.length));
      expect(head.headers.get('docker-content-digest')).toBe(digest);
      expect(head.body.length).toBe(0);
    });

    it('GET blob with Range: bytes=a-b answers 206 with Content-Range and exactly those bytes', async () => {
      const c = client();
      const repo = c.repo('pull-blob-range');
      const bytes = contentFor('pull-blob-range', 200);
      const digest = await c.pushBlob(repo, bytes);
      const reply = await c.send('GET', `/v2/${repo}/blobs/${digest}`, { headers: { range: 'bytes=10-73' } });
      expectStatus(reply, 206);
      expect(reply.headers.get('content-range')).toBe(`bytes 10-73/${bytes.length}`);
      expect(reply.headers.get('content-length')).toBe('64');
      expect(reply.body.equals(bytes.subarray(10, 74)), 'ranged body is bytes 10..73 of the blob').toBe(true);
    });

    it('unknown blob: GET answers 404 BLOB_UNKNOWN, HEAD answers 404', async () => {
      const c = client();
      const repo = c.repo('pull-blob-unknown');
      await c.pushBlob(repo, contentFor('pull-blob-unknown/present'));
      const unknown = digestOf(contentFor('pull-blob-unknown/never-pushed'));
      expectError(await c.send('GET', `/v2/${repo}/blobs/${unknown}`), [404], ['BLOB_UNKNOWN']);
      expectStatus(await c.send('HEAD', `/v2/${repo}/blobs/${unknown}`), 404);
    });

    // The spec only constrains names and lists 404 for these endpoints; 4xx bodies MAY be in any format,
    // so the error code is asserted when the body is JSON.
    it('a repository name with uppercase letters is refused with 400 or 404 (NAME_INVALID or NAME_UNKNOWN when the body is JSON)', async () => {
      const c = client();
      const repo = c.repo('Invalid-Name');
      const replies = [
        await c.getManifest(repo, 'latest'),
        await c.send('GET', `/v2/${repo}/tags/list`),
        await c.send('POST', `/v2/${repo}/blobs/uploads/`),
      ];
      for (const reply of replies) {
        expectStatus(reply, 400, 404);
        if (isJson(reply)) expectError(reply, [400, 404], ['NAME_INVALID', 'NAME_UNKNOWN']);
      }
    });
  });
}

function describeBlobPush(client: () => ConformanceClient, caps: Required<ConformanceCapabilities>): void {
  describe('push blobs', () => {
    // Single-request upload is a MAY; the spec tells registries without it to answer 202 with a session.
    it('POST ?digest= with the body stores the blob (201 + Location), or answers 202 with a session a PUT completes', async () => {
      const c = client();
      const repo = c.repo('push-single-post');
      const bytes = contentFor('push-single-post', 90);
      const digest = digestOf(bytes);
      const post = await c.send('POST', `/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
        headers: { 'content-type': OCTET_STREAM },
        body: bytes,
      });
      expectStatus(post, 201, 202);
      let location = c.location(post);
      if (post.status === 202) {
        const put = await c.send('PUT', c.withDigest(location, digest), { headers: { 'content-type': OCTET_STREAM }, body: bytes });
        expectStatus(put, 201);
        location = c.location(put);
      }
      const pulled = await c.send('GET', location);
      expectStatus(pulled, 200);
      expect(pulled.body.equals(bytes), 'the blob at Location is the uploaded bytes').toBe(true);
    });

    it('POST then PUT with the body and ?digest= answers 201 with Docker-Content-Digest and a pullable Location', async () => {
      const c = client();
      const repo = c.repo('push-post-put');
      const bytes = contentFor('push-post-put', 120);
      const digest = digestOf(bytes);
      const { location } = await c.startUpload(repo);
      const put = await c.send('PUT', c.withDigest(location, digest), { headers: { 'content-type': OCTET_STREAM }, body: bytes });
      expectStatus(put, 201);
      expect(put.headers.get('docker-content-digest')).toBe(digest);
      const pulled = await c.send('GET', c.location(put));
      expectStatus(pulled, 200);
      expect(pulled.body.equals(bytes), 'the blob at Location is the uploaded bytes').toBe(true);
    });

    it('chunked upload: POST 202, each PATCH 202 with Range 0-<end>, closing PUT without body 201; the blob is pullable', async () => {
      const c = client();
      const repo = c.repo('push-chunked');
      const { reply: post, location: first } = await c.startUpload(repo);
      const range = post.headers.get('range');
      if (range !== null) expect(range, 'Range of a fresh upload').toMatch(/^0-\d+$/);
      const uuid = post.headers.get('docker-upload-uuid');
      if (uuid !== null) expect(first.href, 'Location names the Docker-Upload-UUID session').toContain(uuid);
      const chunk = chunkSizeFor(post);
      const bytes = contentFor('push-chunked', chunk * 2 + 37);
      let location = first;
      for (let start = 0; start < bytes.length; start += chunk) {
        const end = Math.min(start + chunk, bytes.length) - 1;
        const patch = await patchChunk(c, location, bytes, start, end);
        expectStatus(patch, 202);
        expectUploadRange(patch, end);
        location = c.location(patch);
      }
      const digest = digestOf(bytes);
      const put = await c.send('PUT', c.withDigest(location, digest));
      expectStatus(put, 201);
      const pulled = await c.send('GET', `/v2/${repo}/blobs/${digest}`);
      expectStatus(pulled, 200);
      expect(pulled.body.equals(bytes), 'the assembled blob is the uploaded bytes in order').toBe(true);
    });

    it('GET on an upload session answers 204 with Location and Range 0-<end>; the final chunk may ride on the closing PUT', async () => {
      const c = client();
      const repo = c.repo('push-upload-status');
      const { reply: post, location: first } = await c.startUpload(repo);
      const chunk = chunkSizeFor(post);
      const bytes = contentFor('push-upload-status', chunk + 50);
      const patch = await patchChunk(c, first, bytes, 0, chunk - 1);
      expectStatus(patch, 202);
      const status = await c.send('GET', c.location(patch));
      expectStatus(status, 204);
      expectUploadRange(status, chunk - 1);
      expect(status.body.length).toBe(0);
      const digest = digestOf(bytes);
      const rest = bytes.subarray(chunk);
      const put = await c.send('PUT', c.withDigest(c.location(status), digest), {
        headers: { 'content-type': OCTET_STREAM, 'content-range': `${chunk}-${bytes.length - 1}` },
        body: rest,
      });
      expectStatus(put, 201);
      const pulled = await c.send('GET', `/v2/${repo}/blobs/${digest}`);
      expect(pulled.body.equals(bytes), 'the blob is the PATCHed chunk followed by the PUT chunk').toBe(true);
    });

    if (caps.chunkRangeChecks) {
      it('a PATCH whose Content-Range does not start at the current offset answers 416 and leaves the session as it was', async () => {
        const c = client();
        const repo = c.repo('push-chunk-out-of-order');
        const { reply: post, location: first } = await c.startUpload(repo);
        const chunk = chunkSizeFor(post);
        const bytes = contentFor('push-chunk-out-of-order', chunk * 3);
        const patch = await patchChunk(c, first, bytes, 0, chunk - 1);
        expectStatus(patch, 202);
        const location = c.location(patch);
        const skipped = await patchChunk(c, location, bytes, chunk + 10, 2 * chunk - 1);
        expectStatus(skipped, 416);
        if (isJson(skipped)) errorCodesOf(skipped);
        const status = await c.send('GET', location);
        expectStatus(status, 204);
        expectUploadRange(status, chunk - 1);
      });
    }

    it('closing PUT with a digest that does not match the content answers 400 DIGEST_INVALID and stores nothing', async () => {
      const c = client();
      const repo = c.repo('push-wrong-digest');
      const bytes = contentFor('push-wrong-digest/content', 80);
      const claimed = digestOf(contentFor('push-wrong-digest/claimed', 80));
      const { location } = await c.startUpload(repo);
      const put = await c.send('PUT', c.withDigest(location, claimed), { headers: { 'content-type': OCTET_STREAM }, body: bytes });
      expectError(put, [400], ['DIGEST_INVALID']);
      for (const digest of [claimed, digestOf(bytes)]) {
        expectStatus(await c.send('HEAD', `/v2/${repo}/blobs/${digest}`), 404);
      }
    });

    it('DELETE on an upload session answers 204; the session is then 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const c = client();
      const repo = c.repo('push-cancel-upload');
      const { reply: post, location: first } = await c.startUpload(repo);
      const bytes = contentFor('push-cancel-upload', chunkSizeFor(post));
      const patch = await patchChunk(c, first, bytes, 0, bytes.length - 1);
      expectStatus(patch, 202);
      const location = c.location(patch);
      expectStatus(await c.send('DELETE', location), 204);
      expectError(await c.send('GET', location), [404], ['BLOB_UPLOAD_UNKNOWN']);
    });

    it('POST ?mount=<digest>&from=<repo> mounts the blob: 201 with a Location in the target repository', async () => {
      const c = client();
      const source = c.repo('mount-source');
      const targetRepo = c.repo('mount-target');
      const bytes = contentFor('mount', 100);
      const digest = await c.pushBlob(source, bytes);
      const mount = await c.send('POST', `/v2/${targetRepo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(source)}`);
      expectStatus(mount, 201);
      const location = c.location(mount);
      expect(location.pathname).toContain(`/v2/${targetRepo}/blobs/`);
      const pulled = await c.send('GET', `/v2/${targetRepo}/blobs/${digest}`);
      expectStatus(pulled, 200);
      expect(pulled.body.equals(bytes), 'the mounted blob is the source bytes').toBe(true);
    });

    it('mounting a blob that the from repository lacks answers 202 with a usable upload session', async () => {
      const c = client();
      const source = c.repo('mount-missing-source');
      const targetRepo = c.repo('mount-missing-target');
      await c.pushBlob(source, contentFor('mount-missing/present'));
      const bytes = contentFor('mount-missing/never-pushed');
      const digest = digestOf(bytes);
      const mount = await c.send('POST', `/v2/${targetRepo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(source)}`);
      expectStatus(mount, 202);
      await expectUsableSession(c, c.location(mount), bytes);
    });

    // The spec lets registries treat `from` as optional: a mount (201) and a plain session (202) both conform.
    it('POST ?mount=<digest> without from answers 201 (mounted) or 202 with a usable upload session', async () => {
      const c = client();
      const source = c.repo('mount-nofrom-source');
      const targetRepo = c.repo('mount-nofrom-target');
      const bytes = contentFor('mount-nofrom', 70);
      const digest = await c.pushBlob(source, bytes);
      const mount = await c.send('POST', `/v2/${targetRepo}/blobs/uploads/?mount=${encodeURIComponent(digest)}`);
      expectStatus(mount, 201, 202);
      if (mount.status === 202) await expectUsableSession(c, c.location(mount), bytes);
      const pulled = await c.send('GET', `/v2/${targetRepo}/blobs/${digest}`);
      expectStatus(pulled, 200);
      expect(pulled.body.equals(bytes)).toBe(true);
    });
  });
}

/** Chunks at least as large as the registry's announced minimum. */
function chunkSizeFor(post: Reply): number {
  const minimum = Number(post.headers.get('oci-chunk-min-length') ?? 0);
  return Math.max(Number.isSafeInteger(minimum) ? minimum : 0, 1024);
}

function patchChunk(c: ConformanceClient, location: URL, bytes: Buffer, start: number, end: number): Promise<Reply> {
  return c.send('PATCH', location, {
    headers: { 'content-type': OCTET_STREAM, 'content-range': `${start}-${end}` },
    body: bytes.subarray(start, end + 1),
  });
}

/** Completes the session with a monolithic PUT: proves a 202 answer really opened an upload. */
async function expectUsableSession(c: ConformanceClient, location: URL, bytes: Buffer): Promise<void> {
  const put = await c.send('PUT', c.withDigest(location, digestOf(bytes)), { headers: { 'content-type': OCTET_STREAM }, body: bytes });
  expectStatus(put, 201);
}

function describeManifestPush(client: () => ConformanceClient, caps: Required<ConformanceCapabilities>): void {
  describe('push manifests', () => {
    it('PUT manifest by tag answers 201 with Location and Docker-Content-Digest; Location serves the same bytes', async () => {
      const c = client();
      const repo = c.repo('manifest-put-tag');
      const manifest = await c.prepareImage(repo, 'manifest-put-tag');
      const put = await c.putManifest(repo, 'v1', manifest);
      expectStatus(put, 201);
      expect(put.headers.get('docker-content-digest')).toBe(manifest.digest);
      const pulled = await c.send('GET', c.location(put), { headers: { accept: ACCEPT_MANIFESTS } });
      expectStatus(pulled, 200);
      expect(pulled.body.equals(manifest.bytes), 'the manifest at Location is byte-identical').toBe(true);
    });

    it('PUT manifest by digest answers 201 with Location and Docker-Content-Digest; GET by digest returns it', async () => {
      const c = client();
      const repo = c.repo('manifest-put-digest');
      const manifest = await c.prepareImage(repo, 'manifest-put-digest');
      const put = await c.putManifest(repo, manifest.digest, manifest);
      expectStatus(put, 201);
      c.location(put);
      expect(put.headers.get('docker-content-digest')).toBe(manifest.digest);
      const pulled = await c.getManifest(repo, manifest.digest);
      expectStatus(pulled, 200);
      expect(pulled.body.equals(manifest.bytes), 'the manifest is stored byte-identical').toBe(true);
    });

    it('PUT manifest referencing a blob the repository lacks answers 400 MANIFEST_BLOB_UNKNOWN and stores nothing', async () => {
      const c = client();
      const repo = c.repo('manifest-missing-blob');
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
      const configDigest = await c.pushBlob(repo, config);
      const missing = contentFor('manifest-missing-blob/never-pushed', 128);
      const bytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
          layers: [{ mediaType: OCI_LAYER, digest: digestOf(missing), size: missing.length }],
        }),
      );
      const put = await c.putManifest(repo, 'broken', { digest: digestOf(bytes), bytes, mediaType: OCI_MANIFEST });
      expectError(put, [400], ['MANIFEST_BLOB_UNKNOWN']);
      expectStatus(await c.getManifest(repo, 'broken', 'HEAD'), 404);
    });

    // v1.1 names no code for this case; DIGEST_INVALID ("provided digest did not match uploaded content")
    // and MANIFEST_INVALID both describe it.
    it('PUT manifest whose body does not match the digest reference answers 400 DIGEST_INVALID or MANIFEST_INVALID', async () => {
      const c = client();
      const repo = c.repo('manifest-digest-mismatch');
      const manifest = await c.prepareImage(repo, 'manifest-digest-mismatch');
      const claimed = digestOf(contentFor('manifest-digest-mismatch/claimed'));
      const put = await c.putManifest(repo, claimed, manifest);
      expectError(put, [400], ['DIGEST_INVALID', 'MANIFEST_INVALID']);
      expectStatus(await c.getManifest(repo, claimed, 'HEAD'), 404);
      expectStatus(await c.getManifest(repo, manifest.digest, 'HEAD'), 404);
    });

    it('PUT manifest that is not valid JSON answers 400 MANIFEST_INVALID', async () => {
      const c = client();
      const repo = c.repo('manifest-invalid-json');
      await c.pushImage(repo, 'manifest-invalid-json');
      const bytes = Buffer.from('{"schemaVersion": 2, "mediaType": ');
      const put = await c.putManifest(repo, 'broken', { digest: digestOf(bytes), bytes, mediaType: OCI_MANIFEST });
      expectError(put, [400], ['MANIFEST_INVALID']);
    });

    it('an OCI image index over two pushed manifests can be pushed by tag and read back by tag and digest', async () => {
      const c = client();
      const repo = c.repo('manifest-index');
      const amd64 = await c.pushImage(repo, 'manifest-index/amd64');
      const arm64 = await c.pushImage(repo, 'manifest-index/arm64');
      const index = {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { ...descriptorOf(amd64), platform: { os: 'linux', architecture: 'amd64' } },
          { ...descriptorOf(arm64), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      };
      const bytes = Buffer.from(JSON.stringify(index));
      const digest = digestOf(bytes);
      const put = await c.putManifest(repo, 'multi', { digest, bytes, mediaType: OCI_INDEX });
      expectStatus(put, 201);
      expect(put.headers.get('docker-content-digest')).toBe(digest);
      for (const reference of ['multi', digest]) {
        const pulled = await c.getManifest(repo, reference);
        expectStatus(pulled, 200);
        expect(mediaTypeOf(pulled)).toBe(OCI_INDEX);
        expect(pulled.headers.get('docker-content-digest')).toBe(digest);
        expect(pulled.body.equals(bytes), 'the index is stored byte-identical').toBe(true);
      }
      for (const child of [amd64, arm64]) expectStatus(await c.getManifest(repo, child.digest, 'HEAD'), 200);
    });

    it(`a manifest whose subject names a manifest that does not exist is accepted (201)${caps.ociSubjectHeader ? ' with OCI-Subject' : ''}`, async () => {
      const c = client();
      const repo = c.repo('manifest-subject-missing');
      const absent = contentFor('manifest-subject-missing/never-pushed');
      const subject: Descriptor = { mediaType: OCI_MANIFEST, digest: digestOf(absent), size: absent.length };
      const artifact = await c.prepareArtifact(repo, 'manifest-subject-missing', subject, SBOM_TYPE);
      const put = await c.putManifest(repo, artifact.digest, artifact);
      expectStatus(put, 201);
      if (caps.ociSubjectHeader) expect(put.headers.get('oci-subject')).toBe(subject.digest);
      expectStatus(await c.getManifest(repo, artifact.digest, 'HEAD'), 200);
    });
  });
}

interface TagList {
  name?: string;
  tags?: string[] | null;
}

/** Tags put on purpose out of order, all lowercase so that lexical and case-insensitive order agree. */
const TAGS = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];

async function pushTags(c: ConformanceClient, repo: string): Promise<void> {
  const manifest = await c.pushImage(repo, repo);
  for (const tag of TAGS) expectStatus(await c.putManifest(repo, tag, manifest), 201);
}

function tagsOf(reply: Reply): string[] {
  expectStatus(reply, 200);
  return jsonOf<TagList>(reply).tags ?? [];
}

function describeDiscovery(client: () => ConformanceClient, caps: Required<ConformanceCapabilities>): void {
  describe('content discovery', () => {
    it('tags/list answers 200 with the repository name and every pushed tag', async () => {
      const c = client();
      const repo = c.repo('tags-list');
      await pushTags(c, repo);
      const reply = await c.send('GET', `/v2/${repo}/tags/list`);
      expectStatus(reply, 200);
      const body = jsonOf<TagList>(reply);
      expect(body.name).toBe(repo);
      expect([...(body.tags ?? [])].sort()).toEqual([...TAGS].sort());
    });

    if (caps.sortedTagList) {
      it('tags/list returns the tags in lexical order', async () => {
        const c = client();
        const repo = c.repo('tags-sorted');
        await pushTags(c, repo);
        expect(tagsOf(await c.send('GET', `/v2/${repo}/tags/list`))).toEqual([...TAGS].sort());
      });
    }

    if (caps.tagListPagination) {
      it('tags/list?n=2 pages through all tags (Link rel="next" with n and last, or last=), and n=0 gives none', async () => {
        const c = client();
        const repo = c.repo('tags-paged');
        await pushTags(c, repo);
        const first = await c.send('GET', `/v2/${repo}/tags/list?n=2`);
        const firstTags = tagsOf(first);
        // More tags exist than n, so the spec requires exactly n of them.
        expect(firstTags).toHaveLength(2);
        const link = nextLink(first, c.url('/').origin);
        if (link) {
          expect(link.pathname).toBe(`/v2/${repo}/tags/list`);
          expect(link.searchParams.get('n')).toBe('2');
          expect(link.searchParams.get('last')).toBe(firstTags[1]);
        }
        const pages = await walkPages(c, first, firstTags, `/v2/${repo}/tags/list`, 'tags', 2);
        const all = pages.flat();
        expect(new Set(all).size, `no tag is listed twice: ${all.join(', ')}`).toBe(all.length);
        expect(caps.sortedTagList ? all : [...all].sort()).toEqual([...TAGS].sort());
        const none = await c.send('GET', `/v2/${repo}/tags/list?n=0`);
        expect(tagsOf(none)).toEqual([]);
        expect(none.headers.get('link')).toBeNull();
      });
    }

    it('tags/list of a repository that does not exist answers 404 NAME_UNKNOWN', async () => {
      const c = client();
      expectError(await c.send('GET', `/v2/${c.repo('tags-no-such-repo')}/tags/list`), [404], ['NAME_UNKNOWN']);
    });

    if (caps.catalog) {
      it('_catalog lists the pushed repositories, and n/last pagination yields the same set without repeats', async () => {
        const c = client();
        const repos = ['catalog-a', 'catalog-b', 'catalog-c'].map((name) => c.repo(name));
        for (const repo of repos) await c.pushImage(repo, repo, 'v1');
        const whole = await c.send('GET', '/v2/_catalog');
        expectStatus(whole, 200);
        const listed = jsonOf<{ repositories?: string[] }>(whole).repositories ?? [];
        const first = await c.send('GET', '/v2/_catalog?n=2');
        expectStatus(first, 200);
        const firstPage = jsonOf<{ repositories?: string[] }>(first).repositories ?? [];
        const pages = await walkPages(c, first, firstPage, '/v2/_catalog', 'repositories', 2);
        const paged = pages.flat();
        expect(new Set(paged).size, `no repository is listed twice: ${paged.join(', ')}`).toBe(paged.length);
        expect(paged).toEqual(expect.arrayContaining(repos));
        // The unpaginated answer may itself be a first page of a registry-chosen size; when it is complete it must agree.
        if (whole.headers.get('link') === null) {
          expect(listed).toEqual(expect.arrayContaining(repos));
          expect([...paged].sort()).toEqual([...listed].sort());
        }
      });
    }
  });
}

/**
 * Follows a paginated list from its first page: by Link rel="next" when the registry sends one, else by
 * `last=` while pages come back full. Every page holds at most n entries.
 */
async function walkPages(c: ConformanceClient, first: Reply, firstPage: string[], path: string, field: 'tags' | 'repositories', n: number): Promise<string[][]> {
  const pages = [firstPage];
  let reply = first;
  let page = firstPage;
  for (let guard = 0; guard < 1_000; guard++) {
    expect(page.length, `a page of ${summary(reply)} holds at most n=${n} entries`).toBeLessThanOrEqual(n);
    const link = nextLink(reply, c.url('/').origin);
    let next: URL | undefined = link;
    if (!next && page.length === n) {
      next = c.url(path);
      next.searchParams.set('n', String(n));
      next.searchParams.set('last', page[page.length - 1]);
    }
    if (!next || page.length === 0) return pages;
    reply = await c.send('GET', next);
    expectStatus(reply, 200);
    page = jsonOf<Record<string, string[] | null | undefined>>(reply)[field] ?? [];
    if (page.length > 0) pages.push(page);
  }
  throw new Error(`${path} pagination did not end within 1000 pages`);
}

function describeReferrers(client: () => ConformanceClient, caps: Required<ConformanceCapabilities>): void {
  describe('referrers', () => {
    /** A subject image and two referrers: one with artifactType, one with only a config media type. */
    async function pushReferrers(c: ConformanceClient, repo: string): Promise<{ subject: PushedManifest; sbom: PushedManifest; signature: PushedManifest; puts: Reply[] }> {
      const subject = await c.pushImage(repo, `${repo}/subject`, 'v1');
      const sbom = await c.prepareArtifact(repo, `${repo}/sbom`, descriptorOf(subject), SBOM_TYPE);
      const signature = await c.prepareArtifact(repo, `${repo}/signature`, descriptorOf(subject), undefined, SIGNATURE_CONFIG_TYPE);
      const puts = [await c.putManifest(repo, sbom.digest, sbom), await c.putManifest(repo, signature.digest, signature)];
      for (const put of puts) expectStatus(put, 201);
      return { subject, sbom, signature, puts };
    }

    function referrersOf(reply: Reply): Descriptor[] {
      expectStatus(reply, 200);
      expect(mediaTypeOf(reply)).toBe(OCI_INDEX);
      const index = jsonOf<IndexBody>(reply);
      expect(index.schemaVersion).toBe(2);
      if (index.mediaType !== undefined) expect(index.mediaType).toBe(OCI_INDEX);
      expect(Array.isArray(index.manifests), `a "manifests" array in ${summary(reply)}`).toBe(true);
      return index.manifests;
    }

    if (caps.ociSubjectHeader) {
      it('PUT of a manifest with a subject answers OCI-Subject: <subject digest>', async () => {
        const c = client();
        const { subject, puts } = await pushReferrers(c, c.repo('referrers-subject-header'));
        for (const put of puts) expect(put.headers.get('oci-subject')).toBe(subject.digest);
      });
    }

    it('GET /referrers/<digest> answers 200 with an OCI index of descriptors carrying artifactType and annotations', async () => {
      const c = client();
      const repo = c.repo('referrers-list');
      const { subject, sbom, signature } = await pushReferrers(c, repo);
      const manifests = referrersOf(await c.send('GET', `/v2/${repo}/referrers/${subject.digest}`));
      expect(manifests).toHaveLength(2);
      expect(manifests).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            ...descriptorOf(sbom),
            artifactType: SBOM_TYPE,
            annotations: expect.objectContaining({ 'org.cargohold.conformance.label': `${repo}/sbom` }),
          }),
          // Without artifactType in the manifest, the descriptor takes the config media type.
          expect.objectContaining({ ...descriptorOf(signature), artifactType: SIGNATURE_CONFIG_TYPE }),
        ]),
      );
    });

    it('GET /referrers/<digest>?artifactType= returns only matching descriptors and OCI-Filters-Applied: artifactType', async () => {
      const c = client();
      const repo = c.repo('referrers-filter');
      const { subject, sbom } = await pushReferrers(c, repo);
      const reply = await c.send('GET', `/v2/${repo}/referrers/${subject.digest}?artifactType=${encodeURIComponent(SBOM_TYPE)}`);
      const manifests = referrersOf(reply);
      const applied = (reply.headers.get('oci-filters-applied') ?? '').split(',').map((filter) => filter.trim());
      expect(applied).toContain('artifactType');
      expect(manifests).toEqual([expect.objectContaining({ digest: sbom.digest, artifactType: SBOM_TYPE })]);
    });

    it('GET /referrers/<digest> of a digest nothing refers to answers 200 with an empty index', async () => {
      const c = client();
      const repo = c.repo('referrers-none');
      await c.pushImage(repo, 'referrers-none', 'v1');
      const unknown = digestOf(contentFor('referrers-none/never-pushed'));
      expect(referrersOf(await c.send('GET', `/v2/${repo}/referrers/${unknown}`))).toEqual([]);
    });
  });
}

function describeContentManagement(client: () => ConformanceClient, caps: Required<ConformanceCapabilities>): void {
  describe('content management', () => {
    if (caps.deleteManifests) {
      it('DELETE manifest by digest answers 202; the digest and its tag then answer 404 MANIFEST_UNKNOWN', async () => {
        const c = client();
        const repo = c.repo('delete-manifest');
        const manifest = await c.pushImage(repo, 'delete-manifest', 'doomed');
        expectStatus(await c.send('DELETE', `/v2/${repo}/manifests/${manifest.digest}`), 202);
        expectError(await c.getManifest(repo, manifest.digest), [404], ['MANIFEST_UNKNOWN']);
        expectError(await c.getManifest(repo, 'doomed'), [404], ['MANIFEST_UNKNOWN']);
      });

      it('DELETE manifest in a repository that does not exist answers 404', async () => {
        const c = client();
        const digest = digestOf(contentFor('delete-manifest-no-repo/never-pushed'));
        const reply = await c.send('DELETE', `/v2/${c.repo('delete-no-such-repo')}/manifests/${digest}`);
        expectError(reply, [404], ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
      });
    } else {
      it('DELETE manifest is refused with 400 or 405 and the manifest stays', async () => {
        const c = client();
        const repo = c.repo('delete-manifest-disabled');
        const manifest = await c.pushImage(repo, 'delete-manifest-disabled', 'kept');
        expectStatus(await c.send('DELETE', `/v2/${repo}/manifests/${manifest.digest}`), 400, 405);
        expectStatus(await c.getManifest(repo, manifest.digest, 'HEAD'), 200);
      });
    }

    if (caps.deleteBlobs) {
      it('DELETE blob answers 202; the blob then answers 404 BLOB_UNKNOWN, and a second DELETE 404', async () => {
        const c = client();
        const repo = c.repo('delete-blob');
        const digest = await c.pushBlob(repo, contentFor('delete-blob'));
        expectStatus(await c.send('DELETE', `/v2/${repo}/blobs/${digest}`), 202);
        expectError(await c.send('GET', `/v2/${repo}/blobs/${digest}`), [404], ['BLOB_UNKNOWN']);
        expectStatus(await c.send('HEAD', `/v2/${repo}/blobs/${digest}`), 404);
        expectError(await c.send('DELETE', `/v2/${repo}/blobs/${digest}`), [404], ['BLOB_UNKNOWN']);
      });
    } else {
      it('DELETE blob is refused with 400 or 405 and the blob stays', async () => {
        const c = client();
        const repo = c.repo('delete-blob-disabled');
        const digest = await c.pushBlob(repo, contentFor('delete-blob-disabled'));
        expectStatus(await c.send('DELETE', `/v2/${repo}/blobs/${digest}`), 400, 405);
        expectStatus(await c.send('HEAD', `/v2/${repo}/blobs/${digest}`), 200);
      });
    }
  });
}

/** One test naming what the target does not claim; without referrers it asserts the 404 clients fall back on. */
function registerAbsentCapabilities(client: () => ConformanceClient, caps: Required<ConformanceCapabilities>): void {
  const absent = (Object.keys(CAPABILITY_NAMES) as Array<keyof ConformanceCapabilities>).filter((name) => !caps[name]).map((name) => CAPABILITY_NAMES[name]);
  if (absent.length === 0) return;
  const title = `not claimed, so not tested: ${absent.join(', ')}`;
  // With referrers claimed there is nothing left to assert about what is absent.
  if (caps.referrers) return;
  it(`${title}; GET /v2/<name>/referrers/<digest> answers 404`, async () => {
    const c = client();
    const repo = c.repo('referrers-absent');
    const manifest = await c.pushImage(repo, 'referrers-absent', 'v1');
    expectStatus(await c.send('GET', `/v2/${repo}/referrers/${manifest.digest}`), 404);
  });
}
