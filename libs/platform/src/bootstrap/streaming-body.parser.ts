import type { FastifyInstance } from 'fastify';

/** Content types that carry tars and blobs (docker load / build / import, registry uploads). */
export const STREAMED_CONTENT_TYPES = ['application/x-tar', 'application/tar', 'application/octet-stream', 'text/plain'];

/**
 * Hands these bodies (and any type without a parser, including none) to the route unread:
 * `request.body` is the request stream itself, so a multi-gigabyte archive flows straight to the
 * blob store instead of into memory. JSON and form bodies keep their parsers. Fastify's
 * bodyLimit does not apply to streamed bodies; routes bound them themselves.
 */
export function registerStreamingBodyParsers(fastify: FastifyInstance): void {
  // The docker client labels every body it sends without a type as text/plain (`docker import
  // file.tar` uploads the tar that way): no route here takes text, so it streams like a tar.
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser(STREAMED_CONTENT_TYPES, (_request, payload, done) => done(null, payload));
  fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
}
