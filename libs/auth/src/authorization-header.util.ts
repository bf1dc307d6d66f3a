export type AuthorizationHeader = { scheme: 'basic'; username: string; password: string } | { scheme: 'bearer'; token: string };

/**
 * Reads `Authorization: Basic <base64 user:password>` or `Bearer <token>` (scheme names are
 * case-insensitive, RFC 9110). Anything else, including a malformed value, is null: the caller
 * answers as for a missing header.
 */
export function parseAuthorization(header: string | string[] | undefined | null): AuthorizationHeader | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  const match = /^([A-Za-z]+) +(\S+)$/.exec(value);
  if (!match) return null;
  const [, scheme, credentials] = match;
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return { scheme: 'bearer', token: credentials };
    case 'basic':
      return parseBasic(credentials);
    default:
      return null;
  }
}

function parseBasic(credentials: string): AuthorizationHeader | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return null;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
