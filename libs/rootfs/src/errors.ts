/** A root filesystem operation (snapshot, diff, layer writing, overlay mount) that failed. */
export class RootfsError extends Error {
  constructor(
    message: string,
    /** The path (inside the root, with a leading slash) at fault, when there is one. */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'RootfsError';
  }
}

/** The errno code of a Node fs error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
