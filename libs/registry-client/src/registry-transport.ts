import type { RegistryEndpoint } from './registry-endpoints.util';
import type { RegistryError } from './registry-errors';

export interface TransportRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/v2/…` (joined to the endpoint) or an absolute URL the registry gave (upload Location, Link). */
  url: string;
  headers?: Record<string, string>;
  /** A Buffer can be sent again on retry; a stream cannot, so requests with one are tried once. */
  body?: Buffer | AsyncIterable<Uint8Array>;
  /** Token scopes the request needs (`repository:a:pull`). */
  scopes: readonly string[];
  signal?: AbortSignal;
}

export interface TransportResponse {
  response: Response;
  /** Where the answer came from after redirects. */
  url: URL;
}

/** What the blob download and upload code needs from a session. */
export interface RegistryTransport {
  readonly retries: number;
  /**
   * One request with auth, one fresh-token retry on 401, retries with backoff on connection
   * failures and 429/5xx (replayable bodies only). Redirects of GET/HEAD are followed.
   */
  send(endpoint: RegistryEndpoint, request: TransportRequest): Promise<TransportResponse>;
  /** The RegistryError for a failed answer (reads its error body). */
  fail(response: Response): Promise<RegistryError>;
  /** Runs `operation` against the read endpoints in order (mirrors first), falling through as dockerd does. */
  onRead<T>(operation: (endpoint: RegistryEndpoint) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Runs `operation` against the endpoints that accept pushes. */
  onWrite<T>(operation: (endpoint: RegistryEndpoint) => Promise<T>, signal?: AbortSignal): Promise<T>;
}
