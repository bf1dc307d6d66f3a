/**
 * Docker clients prefix every Engine API path with the API version (`/v1.47/images/json`);
 * dockerd serves the same routes without it. Only `vMAJOR.MINOR` is stripped: `/v2/…` is the
 * OCI Distribution API, which must reach its own routes untouched.
 */
const VERSION_PREFIX = /^\/v\d+\.\d+(?=\/|\?|$)/;

/** The request URL with a leading Docker API version removed (`/v1.47/_ping?x` → `/_ping?x`). */
export function stripDockerApiVersion(url: string): string {
  const stripped = url.replace(VERSION_PREFIX, '');
  return stripped === '' || stripped.startsWith('?') ? `/${stripped}` : stripped;
}
