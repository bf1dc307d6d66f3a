/**
 * @cargohold/context-index: what a build context tar holds (paths, types, modes, sizes, symlink
 * targets, content digests, and the Dockerfile's bytes), computed while the context streams into
 * the gateway, so a builder can resolve and checksum COPY/ADD sources without extracting it.
 * Also the clean relative path helpers every context and rootfs walk shares.
 */
export { ContextIndex, ContextIndexFormatError } from './context-index';
export type { IndexNode } from './context-index';
export { ContextIndexer } from './context-indexer';
export type { ContextIndexerOptions, IndexOutcome } from './context-indexer';
export { basenameRel, cleanRelative, compareNames, components, dirnameRel, joinRel } from './paths';
