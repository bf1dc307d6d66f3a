import { describe, expect, it } from 'vitest';
import { errorFromResponse } from './error-response.util';
import { RegistryAuthError, RegistryError, RegistryNotFoundError } from './registry-errors';

const json = { 'content-type': 'application/json; charset=utf-8' };

function error(status: number, body: string, headers: Record<string, string> = json, statusText = ''): RegistryError {
  return errorFromResponse({ status, statusText, headers: new Headers(headers), body });
}

describe('errorFromResponse', () => {
  it('maps an OCI error body to `code: message` with dockerd’s wording', () => {
    const e = error(404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}');
    expect(e).toBeInstanceOf(RegistryNotFoundError);
    expect(e.message).toBe('manifest unknown: manifest unknown');
    expect(e.code).toBe('MANIFEST_UNKNOWN');
    expect(e.status).toBe(404);
    expect(error(404, '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}').message).toBe(
      'name unknown: repository name not known to registry',
    );
  });

  it('makes 401 and 403 auth errors, and uses a token server’s `details`', () => {
    const e = error(401, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}');
    expect(e).toBeInstanceOf(RegistryAuthError);
    expect(e.message).toBe('unauthorized: authentication required');
    expect(error(401, '{"details":"incorrect username or password"}').message).toBe('unauthorized: incorrect username or password');
    expect(error(403, 'nope', { 'content-type': 'text/plain' })).toBeInstanceOf(RegistryAuthError);
    expect(error(403, 'nope', { 'content-type': 'text/plain' }).message).toBe('denied: nope');
  });

  it('puts a bearer insufficient_scope challenge first, merged with the body', () => {
    const e = error(401, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', {
      ...json,
      'www-authenticate': 'Bearer realm="http://t/token",service="s",scope="repository:a:pull,push",error="insufficient_scope"',
    });
    expect(e.message).toBe('errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required');
    expect(e.code).toBe('DENIED');
  });

  it('fills in default messages and survives unreadable bodies', () => {
    expect(error(404, '{"errors":[{"code":"BLOB_UNKNOWN"}]}').message).toBe('blob unknown: blob unknown to registry');
    expect(error(401, '').message).toBe('unauthorized: authentication required');
    expect(error(401, '<html>', json).message).toBe('unauthorized: authentication required');
    expect(error(400, '<html>', json).message).toMatch(/^error parsing HTTP 400 response body: .*"<html>"$/);
    expect(error(429, 'slow down', {}).message).toBe('toomanyrequests: slow down');
  });

  it('reports statuses outside 4xx as unexpected', () => {
    const e = error(503, 'x', {}, 'Service Unavailable');
    expect(e).toBeInstanceOf(RegistryError);
    expect(e).not.toBeInstanceOf(RegistryAuthError);
    expect(e.message).toBe('received unexpected HTTP status: 503 Service Unavailable');
  });
});
