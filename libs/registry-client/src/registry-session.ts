import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isDigest, ManifestError, MediaType, parseDigest, parseManifest } from '@cargohold/oci';
import { abortReason, backoffDelay, retryAfterMs, sleep } from './backoff.util';
import { openBlobStream } from './blob-download';
import { uploadBlobWith } from './blob-upload';
import { errorFromResponse } from './error-response.util';
import { abortedError, discardBody, fetchFollowingRedirects, fetchOnce, readBodyLimited, readTextPrefix } from './http.util';
import { nextLink } from './link-header.util';
import { RegistryAuthenticator, repositoryScope } from './registry-auth';
import type {
  BlobBodyFactory,
  ListTagsOptions,
  ManifestContent,
  ManifestHead,
  OpenBlobOptions,
  RegistryCredentials,
  RegistrySession,
  UploadBlobOptions,
} from './registry-client.types';
import type { RegistryEndpoint } from './registry-endpoints.util';
import { RegistryAuthError, RegistryError, RegistryUnreachableError } from './registry-errors';
import { assertDigest, assertRepository, assertTagOrDigest } from './registry-names.util';
import type { RegistryTransport, TransportRequest, TransportResponse } from './registry-transport';

/** dockerd's limit for a manifest body. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_TAG_PAGE_BYTES = 16 * 1024 * 1024;
/** Deadline of a small request (ping, manifest, HEAD); blob transfers have their own idle timeout. */
const SMALL_REQUEST_TIMEOUT_MS = 60_000;
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Everything but schema1, preferred first (what dockerd and containerd send, minus schema1). */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');

export interface SessionSettings {
  retries: number;
  userAgent: string;
}

function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

function hashWith(algorithm: string, bytes: Buffer): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** One registry domain, one set of credentials: the OCI Distribution API with auth, retries and endpoint fallback. */
export class DistributionSession implements RegistrySession, RegistryTransport {
  private readonly auth: RegistryAuthenticator;
  private active: RegistryEndpoint;
  private readonly unreachable = new Set<string>();
  readonly retries: number;

  constructor(
    readonly domain: string,
    private readonly endpoints: readonly RegistryEndpoint[],
    credentials: RegistryCredentials | undefined,
    private readonly settings: SessionSettings,
  ) {
    if (endpoints.length === 0) throw new RegistryError(`no endpoint for registry ${domain}`);
    this.active = endpoints[0];
    this.retries = settings.retries;
    this.auth = new RegistryAuthenticator(credentials, settings.userAgent);
  }

  get baseUrl(): string {
    return this.active.baseUrl;
  }

  // ---- transport ----------------------------------------------------------------------------

  /** GET /v2/ once per endpoint to learn its auth challenges (dockerd pings before anything else). */
  private async learnChallenges(endpoint: RegistryEndpoint, signal?: AbortSignal): Promise<void> {
    if (this.auth.hasChallenges(endpoint.baseUrl)) return;
    // Another endpoint to fall back to means no retries here: dockerd moves on at once.
    const retries = this.isLastResort(endpoint) ? this.retries : 0;
    const url = new URL(`${endpoint.baseUrl}/v2/`);
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetchOnce(url, { method: 'GET', headers: { 'user-agent': this.settings.userAgent }, signal: withTimeout(signal, SMALL_REQUEST_TIMEOUT_MS) });
        await discardBody(response);
        if (RETRY_STATUSES.has(response.status) && attempt < retries) {
          await sleep(retryAfterMs(response.headers.get('retry-after')) ?? backoffDelay(attempt), signal);
          continue;
        }
        if (response.status >= 500) throw new RegistryUnreachableError(`GET ${url}: received unexpected HTTP status: ${response.status} ${response.statusText}`, { status: response.status });
        this.auth.setChallenges(endpoint.baseUrl, response.status === 401 ? response.headers.get('www-authenticate') : null);
        this.unreachable.delete(endpoint.baseUrl);
        return;
      } catch (error) {
        if (signal?.aborted) throw abortedError(signal, 'GET', url);
        if (!(error instanceof RegistryUnreachableError) || attempt >= retries) {
          if (error instanceof RegistryUnreachableError) this.unreachable.add(endpoint.baseUrl);
          throw error;
        }
        await sleep(backoffDelay(attempt), signal);
      }
    }
  }

  private isLastResort(endpoint: RegistryEndpoint): boolean {
    return this.endpoints[this.endpoints.length - 1] === endpoint || this.endpoints.filter((e) => !e.mirror).at(-1) === endpoint;
  }

  async send(endpoint: RegistryEndpoint, request: TransportRequest): Promise<TransportResponse> {
    const { signal } = request;
    const replayable = request.body === undefined || Buffer.isBuffer(request.body);
    const url = new URL(request.url.startsWith('/') ? `${endpoint.baseUrl}${request.url}` : request.url);
    const sameOrigin = url.origin === new URL(endpoint.baseUrl).origin;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.learnChallenges(endpoint, signal);
        const authorization = sameOrigin ? await this.auth.authorization(endpoint.baseUrl, request.scopes, signal) : undefined;
        const headers: Record<string, string> = { 'user-agent': this.settings.userAgent, ...request.headers };
        if (authorization) headers.authorization = authorization;
        const init = { method: request.method, headers, body: request.body, signal };
        const answer =
          request.method === 'GET' || request.method === 'HEAD' ? await fetchFollowingRedirects(url, init) : { response: await fetchOnce(url, init), url };
        const { response } = answer;
        // A rejected token (expired, revoked), or a registry that asks for auth only now: once more, freshly authorized.
        if (response.status === 401 && replayable && !refreshed && sameOrigin) {
          const schemeBefore = this.auth.scheme(endpoint.baseUrl);
          const challenge = response.headers.get('www-authenticate');
          if (challenge) this.auth.setChallenges(endpoint.baseUrl, challenge);
          if (authorization?.startsWith('Bearer ') || this.auth.scheme(endpoint.baseUrl) !== schemeBefore) {
            refreshed = true;
            this.auth.invalidate(endpoint.baseUrl, request.scopes);
            await discardBody(response);
            attempt--;
            continue;
          }
        }
        if (RETRY_STATUSES.has(response.status) && replayable && attempt < this.retries) {
          await discardBody(response);
          await sleep(retryAfterMs(response.headers.get('retry-after')) ?? backoffDelay(attempt), signal);
          continue;
        }
        return answer;
      } catch (error) {
        if (signal?.aborted) throw abortedError(signal, request.method, url);
        if (!(error instanceof RegistryUnreachableError) || !replayable || attempt >= this.retries || this.unreachable.has(endpoint.baseUrl)) throw error;
        await sleep(backoffDelay(attempt), signal);
      }
    }
  }

  async fail(response: Response): Promise<RegistryError> {
    const body = response.body ? await readTextPrefix(response) : '';
    return errorFromResponse({ status: response.status, statusText: response.statusText, headers: response.headers, body });
  }

  private ordered(candidates: readonly RegistryEndpoint[]): RegistryEndpoint[] {
    const live = candidates.filter((e) => !this.unreachable.has(e.baseUrl));
    const pool = live.length > 0 ? live : [...candidates];
    return pool.includes(this.active) ? [this.active, ...pool.filter((e) => e !== this.active)] : pool;
  }

  private async runOn<T>(candidates: readonly RegistryEndpoint[], operation: (endpoint: RegistryEndpoint) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const order = this.ordered(candidates);
    for (const [i, endpoint] of order.entries()) {
      try {
        const result = await operation(endpoint);
        this.active = endpoint;
        return result;
      } catch (error) {
        if (signal?.aborted) throw abortReason(signal);
        const last = i === order.length - 1;
        // dockerd moves past a mirror on any registry error, and past any endpoint it cannot reach.
        const fallThrough = error instanceof RegistryUnreachableError || (endpoint.mirror && error instanceof RegistryError);
        if (last || !fallThrough) throw error;
      }
    }
    throw new RegistryError(`no endpoint for registry ${this.domain}`);
  }

  onRead<T>(operation: (endpoint: RegistryEndpoint) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.runOn(this.endpoints, operation, signal);
  }

  onWrite<T>(operation: (endpoint: RegistryEndpoint) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const writable = this.endpoints.filter((e) => !e.mirror);
    if (writable.length === 0) {
      return Promise.reject(
        new RegistryError(`cannot push to ${this.domain}: registry mirrors are read-only; set CARGOHOLD_DOCKER_HUB_URL to the registry that accepts pushes for ${this.domain}`),
      );
    }
    return this.runOn(writable, operation, signal);
  }

  // ---- API ---------------------------------------------------------------------------------

  async ping(signal?: AbortSignal): Promise<void> {
    // `docker login` checks the registry itself, never a mirror.
    const writable = this.endpoints.filter((e) => !e.mirror);
    await this.runOn(writable.length > 0 ? writable : this.endpoints, async (endpoint) => {
      const timed = withTimeout(signal, SMALL_REQUEST_TIMEOUT_MS);
      await this.learnChallenges(endpoint, timed);
      const url = new URL(`${endpoint.baseUrl}/v2/`);
      const authorization = await this.auth.loginToken(endpoint.baseUrl, timed);
      const headers: Record<string, string> = { 'user-agent': this.settings.userAgent };
      if (authorization) headers.authorization = authorization;
      const { response } = await fetchFollowingRedirects(url, { method: 'GET', headers, signal: timed });
      await discardBody(response);
      if (response.status === 200) return;
      // dockerd's loginV2 wording.
      const message = `login attempt to ${url.toString()} failed with status: ${response.status} ${response.statusText}`;
      if (response.status === 401 || response.status === 403) throw new RegistryAuthError(message, { status: response.status, code: 'UNAUTHORIZED' });
      throw new RegistryError(message, { status: response.status });
    }, signal);
  }

  /** The identity token the registry's token server issued during ping(), for `docker login` to hand back. */
  get identityToken(): string | undefined {
    return this.auth.refreshToken;
  }

  async getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<ManifestContent> {
    assertRepository(repo);
    assertTagOrDigest(reference);
    return this.onRead(async (endpoint) => {
      const { response } = await this.send(endpoint, {
        method: 'GET',
        url: `/v2/${repo}/manifests/${reference}`,
        headers: { accept: MANIFEST_ACCEPT },
        scopes: [repositoryScope(repo, ['pull'])],
        signal: withTimeout(signal, SMALL_REQUEST_TIMEOUT_MS),
      });
      if (response.status !== 200) throw await this.fail(response);
      const bytes = await readBodyLimited(response, MAX_MANIFEST_BYTES, `manifest ${repo}:${reference}`);
      let mediaType: string;
      try {
        mediaType = parseManifest(bytes, response.headers.get('content-type') ?? undefined).mediaType;
      } catch (error) {
        if (error instanceof ManifestError) throw new RegistryError(`${error.message} (${repo}:${reference})`, { code: 'MANIFEST_INVALID', cause: error });
        throw error;
      }
      const digest = this.verifyManifestDigest(repo, reference, bytes, response.headers.get('docker-content-digest'));
      return { digest, mediaType, bytes };
    }, signal);
  }

  private verifyManifestDigest(repo: string, reference: string, bytes: Buffer, header: string | null): string {
    const expected = isDigest(reference) ? reference : header && isDigest(header) ? header : null;
    const actual = hashWith(expected ? parseDigest(expected).algorithm : 'sha256', bytes);
    if (expected && actual !== expected) {
      const source = expected === reference ? 'was asked for' : 'the registry announced (Docker-Content-Digest)';
      throw new RegistryError(`digest mismatch: manifest ${repo}@${expected} ${source}, but the content it sent hashes to ${actual}`, { code: 'DIGEST_INVALID' });
    }
    return actual;
  }

  async headManifest(repo: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | null> {
    assertRepository(repo);
    assertTagOrDigest(reference);
    return this.onRead(async (endpoint) => {
      const { response } = await this.send(endpoint, {
        method: 'HEAD',
        url: `/v2/${repo}/manifests/${reference}`,
        headers: { accept: MANIFEST_ACCEPT },
        scopes: [repositoryScope(repo, ['pull'])],
        signal: withTimeout(signal, SMALL_REQUEST_TIMEOUT_MS),
      });
      await discardBody(response);
      if (response.status === 404) return null;
      if (response.status !== 200) throw await this.fail(response);
      const digest = response.headers.get('docker-content-digest');
      const size = Number(response.headers.get('content-length'));
      const mediaType = response.headers.get('content-type')?.split(';')[0].trim();
      if (digest && isDigest(digest) && Number.isSafeInteger(size) && mediaType && (!isDigest(reference) || digest === reference)) {
        return { digest, mediaType, size };
      }
      // Not every registry sends the digest on HEAD: read the manifest instead.
      const full = await this.getManifest(repo, reference, signal);
      return { digest: full.digest, mediaType: full.mediaType, size: full.bytes.length };
    }, signal);
  }

  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<{ digest: string }> {
    assertRepository(repo);
    assertTagOrDigest(reference);
    if (!mediaType) throw new RegistryError('putManifest needs the manifest media type (it is sent as Content-Type)');
    const digest = hashWith(isDigest(reference) ? parseDigest(reference).algorithm : 'sha256', bytes);
    if (isDigest(reference) && digest !== reference) {
      throw new RegistryError(`digest mismatch: cannot put a manifest hashing to ${digest} under ${reference}`, { code: 'DIGEST_INVALID' });
    }
    return this.onWrite(async (endpoint) => {
      const { response } = await this.send(endpoint, {
        method: 'PUT',
        url: `/v2/${repo}/manifests/${reference}`,
        headers: { 'content-type': mediaType },
        body: bytes,
        scopes: [repositoryScope(repo, ['pull', 'push'])],
        signal: withTimeout(signal, SMALL_REQUEST_TIMEOUT_MS),
      });
      if (response.status < 200 || response.status > 299) throw await this.fail(response);
      await discardBody(response);
      const announced = response.headers.get('docker-content-digest');
      if (announced && isDigest(announced) && parseDigest(announced).algorithm === parseDigest(digest).algorithm && announced !== digest) {
        throw new RegistryError(`digest mismatch: the registry stored the manifest as ${announced}, but it hashes to ${digest}`, { code: 'DIGEST_INVALID' });
      }
      return { digest };
    }, signal);
  }

  async listTags(repo: string, options: ListTagsOptions = {}): Promise<string[]> {
    assertRepository(repo);
    const { signal, pageSize } = options;
    return this.onRead(async (endpoint) => {
      const tags: string[] = [];
      let next: string | null = `/v2/${repo}/tags/list${pageSize ? `?n=${pageSize}` : ''}`;
      const seen = new Set<string>();
      while (next !== null) {
        const { response, url } = await this.send(endpoint, {
          method: 'GET',
          url: next,
          headers: { accept: 'application/json' },
          scopes: [repositoryScope(repo, ['pull'])],
          signal: withTimeout(signal, SMALL_REQUEST_TIMEOUT_MS),
        });
        if (response.status !== 200) throw await this.fail(response);
        const body = (await readBodyLimited(response, MAX_TAG_PAGE_BYTES, `tag list of ${repo}`)).toString('utf8');
        let page: unknown;
        try {
          page = JSON.parse(body);
        } catch (error) {
          throw new RegistryError(`the tag list of ${repo} is not valid JSON: ${(error as Error).message}`);
        }
        const pageTags = typeof page === 'object' && page !== null ? (page as { tags?: unknown }).tags : undefined;
        if (Array.isArray(pageTags)) tags.push(...pageTags.filter((t): t is string => typeof t === 'string'));
        const link = nextLink(response.headers.get('link'), url);
        next = link === null ? null : link.toString();
        if (next !== null) {
          if (seen.has(next)) throw new RegistryError(`the tag list of ${repo} paginates in a loop (${link?.pathname}${link?.search})`);
          seen.add(next);
        }
      }
      return tags;
    }, signal);
  }

  async hasBlob(repo: string, digest: string, signal?: AbortSignal): Promise<{ size: number } | null> {
    assertRepository(repo);
    assertDigest(digest);
    return this.onRead(async (endpoint) => {
      const { response } = await this.send(endpoint, {
        method: 'HEAD',
        url: `/v2/${repo}/blobs/${digest}`,
        scopes: [repositoryScope(repo, ['pull'])],
        signal: withTimeout(signal, SMALL_REQUEST_TIMEOUT_MS),
      });
      await discardBody(response);
      if (response.status === 404) return null;
      if (response.status !== 200) throw await this.fail(response);
      const size = Number(response.headers.get('content-length'));
      if (!Number.isSafeInteger(size) || size < 0) throw new RegistryError(`HEAD of blob ${digest} in ${repo} gave no usable Content-Length`);
      return { size };
    }, signal);
  }

  openBlob(repo: string, digest: string, size: number, options: OpenBlobOptions = {}): Readable {
    assertRepository(repo);
    assertDigest(digest);
    return openBlobStream(this, { repo, digest, size, options });
  }

  async mountBlob(repo: string, digest: string, fromRepo: string, signal?: AbortSignal): Promise<boolean> {
    assertRepository(repo);
    assertRepository(fromRepo);
    assertDigest(digest);
    const scopes = [repositoryScope(repo, ['pull', 'push']), repositoryScope(fromRepo, ['pull'])];
    return this.onWrite(async (endpoint) => {
      const query = `mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`;
      const answer = await this.send(endpoint, {
        method: 'POST',
        url: `/v2/${repo}/blobs/uploads/?${query}`,
        headers: { 'content-length': '0' },
        scopes,
        signal: withTimeout(signal, SMALL_REQUEST_TIMEOUT_MS),
      });
      const { response } = answer;
      if (response.status === 201) {
        await discardBody(response);
        return true;
      }
      if (response.status !== 202) throw await this.fail(response);
      await discardBody(response);
      // The registry opened an ordinary upload instead; the caller uploads on its own.
      const location = response.headers.get('location');
      if (location) {
        try {
          const cancel = await this.send(endpoint, { method: 'DELETE', url: new URL(location, answer.url).toString(), scopes, signal: AbortSignal.timeout(10_000) });
          await discardBody(cancel.response);
        } catch {
          // an abandoned upload is purged by the registry eventually
        }
      }
      return false;
    }, signal);
  }

  async uploadBlob(repo: string, digest: string, size: number, body: BlobBodyFactory, options: UploadBlobOptions = {}): Promise<void> {
    assertRepository(repo);
    assertDigest(digest);
    return uploadBlobWith(this, { repo, digest, size, body, options });
  }
}
