import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Content types that carry tars and blobs (docker load / build / import, registry uploads). */
export const STREAMED_CONTENT_TYPES = ['application/x-tar', 'application/tar', 'application/octet-stream', 'text/plain'];

/** The registry API keeps manifests byte-exact (their digest is over the bytes): it reads every body itself. */
const isRegistryRequest = (request: FastifyRequest): boolean => request.url.startsWith('/v2/');

/**
 * Hands these bodies (and any type without a parser, including none) to the route unread:
 * `request.body` is the request stream itself, so a multi-gigabyte archive flows straight to the
 * blob store instead of into memory. JSON and form bodies keep their parsers, except on the
 * registry API, where even `application/json` stays a stream. Fastify's bodyLimit does not apply
 * to streamed bodies; routes bound them themselves.
 */
export function registerStreamingBodyParsers(fastify: FastifyInstance, bodyLimit: number): void {
  // The docker client labels every body it sends without a type as text/plain (`docker import
  // file.tar` uploads the tar that way): no route here takes text, so it streams like a tar.
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser(STREAMED_CONTENT_TYPES, (_request, payload, done) => done(null, payload));
  fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
    if (isRegistryRequest(request)) return done(null, payload);
    const chunks: Buffer[] = [];
    let size = 0;
    payload.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > bodyLimit) {
        payload.destroy();
        done(Object.assign(new Error('Request body is too large'), { statusCode: 413 }), undefined);
        return;
      }
      chunks.push(chunk);
    });
    payload.on('error', (error) => done(error, undefined));
    payload.on('end', () => {
      if (size <= bodyLimit) void parseJson(request, Buffer.concat(chunks).toString('utf8'), done);
    });
  });
}
