import { abortReason } from './backoff.util';
import { errorFromResponse } from './error-response.util';
import { fetchFollowingRedirects, fetchOnce, readBodyLimited, readTextPrefix, redactUrl } from './http.util';
import type { RegistryCredentials } from './registry-client.types';
import { RegistryAuthError, RegistryError } from './registry-errors';
import type { AuthChallenge } from './www-authenticate.util';
import { findChallenge, parseWwwAuthenticate } from './www-authenticate.util';

/** The docker token spec's floor (and default) for `expires_in`. */
const MIN_TOKEN_LIFETIME_S = 60;
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
/** dockerd's OAuth client_id: identity tokens issued to `docker login` are bound to it on some servers. */
const CLIENT_ID = 'docker';
const TOKEN_TIMEOUT_MS = 30_000;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** `repository:<name>:pull` / `repository:<name>:pull,push`. */
export function repositoryScope(repo: string, actions: readonly ('pull' | 'push')[]): string {
  return `repository:${repo}:${actions.join(',')}`;
}

interface TokenAnswer {
  token?: unknown;
  access_token?: unknown;
  expires_in?: unknown;
  issued_at?: unknown;
  refresh_token?: unknown;
}

/**
 * Answers registry auth challenges for one set of credentials: Bearer tokens per scope set
 * (cached until `expires_in`, one fetch at a time per scope set) and Basic.
 */
export class RegistryAuthenticator {
  private readonly challenges = new Map<string, AuthChallenge[]>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  /** A refresh token the token server handed out (login with offline access). */
  refreshToken: string | undefined;

  constructor(
    private readonly credentials: RegistryCredentials | undefined,
    private readonly userAgent: string,
    private readonly now: () => number = Date.now,
  ) {
    this.refreshToken = credentials?.identitytoken || undefined;
  }

  hasChallenges(baseUrl: string): boolean {
    return this.challenges.has(baseUrl);
  }

  /** Records the challenges of a `/v2/` answer (none when it was 200). */
  setChallenges(baseUrl: string, header: string | null): void {
    this.challenges.set(baseUrl, parseWwwAuthenticate(header));
  }

  /** The scheme the endpoint asks for, once known. */
  scheme(baseUrl: string): 'bearer' | 'basic' | 'none' {
    const list = this.challenges.get(baseUrl) ?? [];
    if (findChallenge(list, 'bearer')) return 'bearer';
    if (findChallenge(list, 'basic')) return 'basic';
    return 'none';
  }

  /** The Authorization value for a request needing `scopes`, or undefined for none. */
  async authorization(baseUrl: string, scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    if (this.credentials?.registrytoken) return `Bearer ${this.credentials.registrytoken}`;
    const list = this.challenges.get(baseUrl) ?? [];
    const bearer = findChallenge(list, 'bearer');
    if (bearer) return `Bearer ${(await this.token(bearer, scopes, false, signal)).token}`;
    if (findChallenge(list, 'basic')) return this.basic();
    return undefined;
  }

  /** Forgets the cached token for `scopes` so that the next request fetches a fresh one. */
  invalidate(baseUrl: string, scopes: readonly string[]): void {
    const bearer = findChallenge(this.challenges.get(baseUrl) ?? [], 'bearer');
    if (bearer) this.tokens.delete(cacheKey(bearer, scopes));
  }

  /** A token without scope, asking for offline access as `docker login` does (yields a refresh token). */
  async loginToken(baseUrl: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.credentials?.registrytoken) return `Bearer ${this.credentials.registrytoken}`;
    const bearer = findChallenge(this.challenges.get(baseUrl) ?? [], 'bearer');
    if (!bearer) return findChallenge(this.challenges.get(baseUrl) ?? [], 'basic') ? this.basic() : undefined;
    return `Bearer ${(await this.token(bearer, [], true, signal)).token}`;
  }

  private basic(): string | undefined {
    const { username, password } = this.credentials ?? {};
    if (!username || !password) return undefined;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private async token(challenge: AuthChallenge, scopes: readonly string[], offline: boolean, signal?: AbortSignal): Promise<CachedToken> {
    signal?.throwIfAborted();
    const key = cacheKey(challenge, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached;
    let pending = this.pending.get(key);
    if (!pending) {
      // Shared by every request waiting for this scope set, so no single caller's signal may cancel it.
      pending = this.fetchToken(challenge, scopes, offline, AbortSignal.timeout(TOKEN_TIMEOUT_MS)).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    const fresh = await raceAbort(pending, signal);
    this.tokens.set(key, fresh);
    return fresh;
  }

  private async fetchToken(challenge: AuthChallenge, scopes: readonly string[], offline: boolean, signal?: AbortSignal): Promise<CachedToken> {
    const realmText = challenge.params.realm;
    if (!realmText) throw new RegistryError('the registry asked for a bearer token without saying where to get it (no realm in WWW-Authenticate)');
    let realm: URL;
    try {
      realm = new URL(realmText);
    } catch {
      throw new RegistryError(`invalid token auth challenge realm: ${JSON.stringify(realmText)}`);
    }
    const service = challenge.params.service ?? '';
    return this.refreshToken ? this.fetchWithRefreshToken(realm, service, scopes, signal) : this.fetchWithGet(realm, service, scopes, offline, signal);
  }

  /** The token spec's GET flow, with Basic credentials when we have them. */
  private async fetchWithGet(realm: URL, service: string, scopes: readonly string[], offline: boolean, signal?: AbortSignal): Promise<CachedToken> {
    const url = new URL(realm);
    if (service) url.searchParams.append('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    if (offline) {
      url.searchParams.append('offline_token', 'true');
      url.searchParams.append('client_id', CLIENT_ID);
    }
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'application/json' };
    const basic = this.basic();
    if (basic) {
      url.searchParams.append('account', this.credentials?.username ?? '');
      headers.authorization = basic;
    }
    const { response } = await fetchFollowingRedirects(url, { method: 'GET', headers, signal });
    return this.readTokenAnswer(response, realm);
  }

  /** OAuth2 refresh_token grant, for identity tokens (what dockerd does when it has one). */
  private async fetchWithRefreshToken(realm: URL, service: string, scopes: readonly string[], signal?: AbortSignal): Promise<CachedToken> {
    const form = new URLSearchParams();
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', this.refreshToken ?? '');
    form.set('service', service);
    form.set('client_id', CLIENT_ID);
    form.set('scope', scopes.join(' '));
    const response = await fetchOnce(realm, {
      method: 'POST',
      headers: { 'user-agent': this.userAgent, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: Buffer.from(form.toString()),
      signal,
    });
    return this.readTokenAnswer(response, realm);
  }

  private async readTokenAnswer(response: Response, realm: URL): Promise<CachedToken> {
    if (response.status < 200 || response.status > 299) {
      const error = errorFromResponse({ status: response.status, statusText: response.statusText, headers: response.headers, body: await readTextPrefix(response) });
      // A 4xx from the token server means the credentials themselves were refused.
      if (response.status >= 400 && response.status < 500 && !(error instanceof RegistryAuthError)) {
        throw new RegistryAuthError(error.message, { status: error.status, code: error.code });
      }
      throw error;
    }
    const text = (await readBodyLimited(response, MAX_TOKEN_RESPONSE_BYTES, `the token answer of ${redactUrl(realm)}`)).toString('utf8');
    let answer: TokenAnswer;
    try {
      answer = JSON.parse(text) as TokenAnswer;
    } catch (err) {
      throw new RegistryError(`unable to decode token response from ${redactUrl(realm)}: ${(err as Error).message}`);
    }
    const token = typeof answer.access_token === 'string' && answer.access_token ? answer.access_token : answer.token;
    if (typeof token !== 'string' || !token) throw new RegistryError(`authorization server ${redactUrl(realm)} did not include a token in the response`);
    if (typeof answer.refresh_token === 'string' && answer.refresh_token) this.refreshToken = answer.refresh_token;
    const expiresIn = typeof answer.expires_in === 'number' && answer.expires_in >= MIN_TOKEN_LIFETIME_S ? answer.expires_in : MIN_TOKEN_LIFETIME_S;
    const issuedAt = typeof answer.issued_at === 'string' ? Date.parse(answer.issued_at) : NaN;
    const start = Number.isFinite(issuedAt) ? issuedAt : this.now();
    return { token, expiresAt: start + expiresIn * 1000 };
  }
}

function cacheKey(challenge: AuthChallenge, scopes: readonly string[]): string {
  return [challenge.params.realm ?? '', challenge.params.service ?? '', ...[...scopes].sort()].join('\n');
}

/** `promise`, or the signal's abort reason as soon as it aborts (the promise itself runs on). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
