import type { ByteRange } from './blob-store';

/** A digest that is not `sha256:<64 lowercase hex>`; the stores address nothing else. */
export class InvalidDigestError extends Error {
  constructor(readonly digest: string) {
    super(`invalid blob digest "${digest}": expected sha256:<64 lowercase hex characters>`);
    this.name = 'InvalidDigestError';
  }
}

/** A staging key that could escape the staging area or is not portable across drivers. */
export class InvalidStagingKeyError extends Error {
  constructor(readonly key: string) {
    super(
      `invalid staging key "${key}": use 1-200 characters from [A-Za-z0-9._:-], starting with a letter or digit, without ".."`,
    );
    this.name = 'InvalidStagingKeyError';
  }
}

/** A read range that selects no byte of the blob (HTTP 416). `size` is the blob's size when known. */
export class RangeNotSatisfiableError extends Error {
  constructor(
    readonly digest: string,
    readonly range: ByteRange,
    readonly size?: number,
  ) {
    super(
      `range bytes=${range.start}-${range.end ?? ''} is not satisfiable for ${digest}` +
        (size === undefined ? '' : ` (${size} bytes)`),
    );
    this.name = 'RangeNotSatisfiableError';
  }
}
