/**
 * A `--change` instruction dockerd would refuse (not allowed in a commit/import, malformed, or a
 * bad value). The message is dockerd's own text, which the docker CLI shows as is.
 */
export class ImportChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportChangeError';
  }
}
