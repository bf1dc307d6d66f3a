/** A tar (image archive or layer) that cannot be read or does not hold what it claims. */
export class ArchiveError extends Error {
  constructor(
    message: string,
    /** The archive entry at fault, when there is one. */
    readonly entry?: string,
  ) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/** A tar that tries to do something hostile: escape its root, plant devices, or explode in size. */
export class UnsafeArchiveError extends ArchiveError {
  constructor(message: string, entry?: string) {
    super(message, entry);
    this.name = 'UnsafeArchiveError';
  }
}
