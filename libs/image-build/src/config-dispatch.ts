/** The builder's config dispatch lives in @cargohold/dockerfile (config-apply), shared with `--change`. */
export { applyToConfig, ConfigDispatchError, DEFAULT_SHELL, isMetadataInstruction, resolveWorkdir } from '@cargohold/dockerfile';
export type { DispatchState, MetadataInstruction } from '@cargohold/dockerfile';
