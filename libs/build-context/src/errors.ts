/**
 * A COPY or ADD instruction that cannot be carried out. The message is what the legacy builder
 * prints (`COPY failed: …`), so a caller can show it to the user as it is.
 */
export class CopyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CopyError';
  }
}

export type Instruction = 'COPY' | 'ADD';
