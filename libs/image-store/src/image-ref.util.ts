import { familiarName, parseReference, type Reference } from '@cargohold/oci';
import { invalid } from './image-store.errors';

const FULL_HEX = /^[a-f0-9]{64}$/;
const ID_DIGEST = /^sha256:[a-f0-9]{64}$/;
const SHORT_ID = /^[a-f0-9]{1,64}$/;

/**
 * How dockerd reads an image argument (`reference.ParseAnyReference`): 64 hex chars or
 * `sha256:<hex>` is an image ID; anything else is a repository reference that, when nothing
 * is tagged under it, may still be an ID prefix.
 */
export type ImageLookup =
  | { kind: 'id'; id: string }
  | { kind: 'reference'; ref: Reference & { tag?: string }; idPrefix: string | null };

export function parseImageLookup(input: string): ImageLookup {
  if (FULL_HEX.test(input)) return { kind: 'id', id: `sha256:${input}` };
  if (ID_DIGEST.test(input)) return { kind: 'id', id: input };
  if (input.startsWith('sha256:')) throw invalid('invalid reference format');
  const ref = parseRef(input);
  const withTag = ref.tag || ref.digest ? ref : { ...ref, tag: 'latest' };
  return { kind: 'reference', ref: withTag, idPrefix: SHORT_ID.test(input) ? input : null };
}

/** Parse a repository reference; invalid input becomes a 400 with dockerd's text. */
export function parseRef(input: string): Reference {
  try {
    return parseReference(input);
  } catch (err) {
    throw invalid(err instanceof Error ? err.message : String(err));
  }
}

/** dockerd's "No such image" text: a reference without tag or digest shows `:latest`. */
export function noSuchImageText(input: string): string {
  if (FULL_HEX.test(input)) return `No such image: sha256:${input}`;
  if (ID_DIGEST.test(input)) return `No such image: ${input}`;
  try {
    const ref = parseReference(input);
    const name = familiarName(ref.name);
    if (ref.digest) return `No such image: ${name}${ref.tag ? `:${ref.tag}` : ''}@${ref.digest}`;
    return `No such image: ${name}:${ref.tag ?? 'latest'}`;
  } catch {
    return `No such image: ${input}`;
  }
}

/** `repo:tag` / `repo@digest` as the CLI shows them. */
export function familiarTag(repository: string, tag: string): string {
  return `${familiarName(repository)}:${tag}`;
}
export function familiarDigest(repository: string, digest: string): string {
  return `${familiarName(repository)}@${digest}`;
}

/** `sha256:abc…` → the 12-char short ID dockerd prints in messages. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
