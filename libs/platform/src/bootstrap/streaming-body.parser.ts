import type { FastifyInstance } from 'fastify';

/** Content types that carry tars and blobs (docker load / build / import, registry uploads). */
export const STREAMED_CONTENT_TYPES = ['application/x-tar', 'application/tar', 'application/octet-stream'];

/**
 * Hands these bodies (and any type without a parser, including none) to the route unread:
 * `request.body` is the request stream itself, so a multi-gigabyte archive flows straight to the
 * blob store instead of into memory. JSON and form bodies keep their parsers. Fastify's
 * bodyLimit does not apply to streamed bodies; routes bound them themselves.
 */
export function registerStreamingBodyParsers(fastify: FastifyInstance): void {
  fastify.addContentTypeParser(STREAMED_CONTENT_TYPES, (_request, payload, done) => done(null, payload));
  fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
}
