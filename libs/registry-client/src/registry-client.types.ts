import type { Readable } from 'node:stream';

/** What docker's `X-Registry-Auth` header carries, decoded. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A refresh token from an earlier login (`docker login` stores it): exchanged with the OAuth2 POST flow. */
  identitytoken?: string;
  /** A bearer token sent to the registry as is. */
  registrytoken?: string;
}

export interface RegistryClientOptions {
  /** `host[:port]` or CIDR; loopback (127.0.0.0/8, ::1, localhost) is always plain HTTP, like dockerd. */
  insecureRegistries?: string[];
  /** Endpoints tried first for docker.io (pulls only), then the hub endpoint. */
  mirrors?: string[];
  /** Base URL used for the docker.io domain; there is no built-in default. */
  dockerHubEndpoint?: string;
  /** Retries of a failed request or broken download; default 4, exponential backoff from 200 ms with jitter. */
  retries?: number;
  userAgent?: string;
}

export interface ManifestContent {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface OpenBlobOptions {
  /** Called with the blob position reached (offset + bytes received) after every chunk. */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
  /** Start this many bytes into the blob (default 0). */
  offset?: number;
}

export interface UploadBlobOptions {
  /** Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size. Default 32 MiB. */
  chunkSize?: number;
  /** Called with the number of bytes handed to the registry so far. */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface ListTagsOptions {
  /** Page size asked for with `?n=` (the registry may ignore it); every page is followed. */
  pageSize?: number;
  signal?: AbortSignal;
}

/** A source of the blob bytes; called again for each retry, so it must start from byte 0 every time. */
export type BlobBodyFactory = () => Promise<Readable> | Readable;

export interface RegistrySession {
  readonly domain: string;
  /** The endpoint in use (for docker.io: the mirror or hub endpoint that answered last). */
  readonly baseUrl: string;
  /**
   * GET /v2/ with the auth challenge answered; throws RegistryAuthError on bad credentials with
   * dockerd's message (`unauthorized: incorrect username or password`, or for Basic registries
   * `login attempt to <url>/v2/ failed with status: 401 Unauthorized`). What `docker login` does.
   */
  ping(signal?: AbortSignal): Promise<void>;
  /**
   * The refresh token a token server issued during ping() (offline access, as `docker login`
   * asks for): what the Engine API's `POST /auth` returns as `IdentityToken`. Undefined otherwise.
   */
  readonly identityToken: string | undefined;
  /**
   * A manifest or index (OCI / Docker schema2; schema1 refused). The digest is verified: against
   * `reference` when it is a digest, else against Docker-Content-Digest when sent.
   */
  getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<ManifestContent>;
  /** HEAD of a manifest; null when the registry does not have it. */
  headManifest(repo: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | null>;
  putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<{ digest: string }>;
  /** Every tag, following `Link` pagination. */
  listTags(repo: string, options?: ListTagsOptions): Promise<string[]>;
  hasBlob(repo: string, digest: string, signal?: AbortSignal): Promise<{ size: number } | null>;
  /**
   * The blob from `offset` as one continuous stream: a broken connection is resumed with
   * `Range: bytes=<n>-` (up to `retries` times without progress). Redirects are followed and
   * the registry's Authorization never goes to another host. Digest checking is the caller's
   * (see verifyingStream); a blob longer than `size` is an error.
   */
  openBlob(repo: string, digest: string, size: number, options?: OpenBlobOptions): Readable;
  /** POST ?mount=<digest>&from=<fromRepo>; true when the registry mounted it (201). A 202 upload is cancelled. */
  mountBlob(repo: string, digest: string, fromRepo: string, signal?: AbortSignal): Promise<boolean>;
  /** Monolithic (POST + PUT) when size <= chunkSize, else PATCH chunks with Content-Range and a closing PUT ?digest=. */
  uploadBlob(repo: string, digest: string, size: number, body: BlobBodyFactory, options?: UploadBlobOptions): Promise<void>;
}
