import type { KeyObject } from 'node:crypto';
import { randomBytes, randomUUID, sign } from 'node:crypto';
import http from 'node:http';
import { listenOnLoopback } from './loopback-server.util';

/** Who gets what: the actions granted on one resource. */
export type TokenAccessPolicy = (account: string | null, type: string, name: string, requested: string[]) => string[];

export interface TokenServerOptions {
  users: Record<string, string>;
  /** What a request without credentials gets on repositories: `pull`, or nothing (default `pull`). */
  anonymous?: 'pull' | 'none';
  /** Replaces the default policy (users get what they ask for, anonymous per `anonymous`). */
  policy?: TokenAccessPolicy;
  service: string;
  issuer: string;
  signingKey: KeyObject;
  /** Base64 DER certificate of signingKey, sent as the JWT `x5c` header. */
  certDerBase64: string;
  /** Token lifetime in seconds; default 300. */
  expiresIn?: number;
}

export interface TokenGrant {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenRequestRecord {
  method: string;
  /** `password`, `refresh_token` for the OAuth2 POST; undefined for the GET flow. */
  grantType?: string;
  /** The authenticated user, null for anonymous. */
  account: string | null;
  scopes: string[];
  status: number;
  granted: TokenGrant[];
  /** The `client_id`, `offline_token` and `account` parameters as sent. */
  params: Record<string, string>;
}

export interface TokenServerHandle {
  /** The realm: `http://127.0.0.1:PORT/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** Every token request, in order. */
  requests: TokenRequestRecord[];
  /** Mints a token directly (the harness uses it to fill the registry without a token round trip). */
  issueToken(account: string | null, scopes: string[]): string;
  stop(): Promise<void>;
}

const MAX_FORM_BYTES = 64 * 1024;

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** `repository:team/app:pull,push` → type, name, actions (names may hold `:` only before the last one). */
function parseScope(scope: string): TokenGrant | null {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return null;
  const actions = scope.slice(last + 1).split(',').map((a) => a.trim()).filter(Boolean);
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

/**
 * A token server as the docker token spec describes (GET with Basic auth, OAuth2 POST with
 * password or refresh_token grants), issuing RS256 JWTs that docker-registry's `token` auth
 * verifies through the `x5c` certificate. Wrong credentials get 401 with Docker Hub's body.
 */
export async function startTokenServer(options: TokenServerOptions): Promise<TokenServerHandle> {
  const expiresIn = options.expiresIn ?? 300;
  const anonymous = options.anonymous ?? 'pull';
  const requests: TokenRequestRecord[] = [];
  const refreshTokens = new Map<string, string>();

  const defaultPolicy: TokenAccessPolicy = (account, type, _name, requested) => {
    if (account !== null) return requested;
    return type === 'repository' && anonymous === 'pull' ? requested.filter((a) => a === 'pull') : [];
  };
  const policy = options.policy ?? defaultPolicy;

  const issueToken = (account: string | null, scopes: string[]): string => jwt(account, grants(account, scopes));
  const grants = (account: string | null, scopes: string[]): TokenGrant[] =>
    scopes
      .map(parseScope)
      .filter((g): g is TokenGrant => g !== null)
      .map((g) => ({ ...g, actions: policy(account, g.type, g.name, g.actions) }))
      .filter((g) => g.actions.length > 0);
  const jwt = (account: string | null, access: TokenGrant[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [options.certDerBase64] };
    const claims = { iss: options.issuer, sub: account ?? '', aud: options.service, exp: now + expiresIn, nbf: now - 1, iat: now, jti: randomUUID(), access };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    return `${signingInput}.${base64url(sign('sha256', Buffer.from(signingInput), options.signingKey))}`;
  };
  const checkPassword = (user: string, password: string): boolean => Object.prototype.hasOwnProperty.call(options.users, user) && options.users[user] === password;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { details: `token server error: ${(error as Error).message}` });
      else res.destroy();
    });
  });

  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token') return send(res, 404, { details: 'not found' });
    const record = (status: number, account: string | null, scopes: string[], granted: TokenGrant[], extra: Partial<TokenRequestRecord>): void => {
      requests.push({ method: req.method ?? 'GET', account, scopes, status, granted, params: {}, ...extra });
    };
    const respond = (account: string | null, scopes: string[], offline: boolean, extra: Partial<TokenRequestRecord>): void => {
      const granted = grants(account, scopes);
      const token = jwt(account, granted);
      const body: Record<string, unknown> = { token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() };
      if (offline && account !== null) {
        const refresh = randomBytes(24).toString('hex');
        refreshTokens.set(refresh, account);
        body.refresh_token = refresh;
      }
      record(200, account, scopes, granted, extra);
      send(res, 200, body);
    };
    const deny = (status: number, details: string, account: string | null, scopes: string[], extra: Partial<TokenRequestRecord>): void => {
      record(status, account, scopes, [], extra);
      send(res, status, { details });
    };

    if (req.method === 'GET') {
      const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      const params = Object.fromEntries(['account', 'client_id', 'offline_token', 'service'].flatMap((k) => (url.searchParams.has(k) ? [[k, url.searchParams.get(k) ?? '']] : [])));
      const authorization = req.headers.authorization;
      let account: string | null = null;
      if (authorization) {
        const match = /^Basic\s+(\S+)$/i.exec(authorization);
        const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
        const colon = decoded.indexOf(':');
        const user = colon >= 0 ? decoded.slice(0, colon) : '';
        if (!match || colon < 0 || !checkPassword(user, decoded.slice(colon + 1))) {
          return deny(401, 'incorrect username or password', user || null, scopes, { params });
        }
        account = user;
      }
      return respond(account, scopes, url.searchParams.get('offline_token') === 'true', { params });
    }

    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      const grantType = form.get('grant_type') ?? '';
      const params = Object.fromEntries(['client_id', 'service', 'access_type'].flatMap((k) => (form.has(k) ? [[k, form.get(k) ?? '']] : [])));
      if (grantType === 'password') {
        const user = form.get('username') ?? '';
        if (!checkPassword(user, form.get('password') ?? '')) return deny(401, 'incorrect username or password', user || null, scopes, { grantType, params });
        return respond(user, scopes, form.get('access_type') === 'offline', { grantType, params });
      }
      if (grantType === 'refresh_token') {
        const account = refreshTokens.get(form.get('refresh_token') ?? '');
        if (account === undefined) return deny(401, 'invalid refresh token', null, scopes, { grantType, params });
        return respond(account, scopes, false, { grantType, params });
      }
      return deny(400, `unsupported grant_type ${JSON.stringify(grantType)}`, null, scopes, { grantType, params });
    }
    res.writeHead(405, { allow: 'GET, POST' });
    res.end();
  }

  const port = await listenOnLoopback(server);
  let stopping: Promise<void> | undefined;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: options.service,
    issuer: options.issuer,
    requests,
    issueToken,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_FORM_BYTES) req.destroy(new Error('form too large'));
    });
    req.once('end', () => resolve(text));
    req.once('error', reject);
  });
}
