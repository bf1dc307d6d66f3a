/**
 * Errors of the image store, each mapping to one Docker API status. Messages are dockerd's
 * texts: the CLI prints them as they are.
 */
export type ImageStoreErrorKind = 'not-found' | 'conflict' | 'invalid';

export class ImageStoreError extends Error {
  constructor(
    readonly kind: ImageStoreErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ImageStoreError';
  }
}

export const notFound = (message: string) => new ImageStoreError('not-found', message);
export const conflict = (message: string) => new ImageStoreError('conflict', message);
export const invalid = (message: string) => new ImageStoreError('invalid', message);
