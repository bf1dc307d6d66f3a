/**
 * `Content-Range` of an upload PATCH as the distribution spec wants it: `<start>-<end>`, both
 * inclusive, without the `bytes ` unit of RFC 9110 (the registry rejects that form).
 */
export function uploadContentRange(start: number, length: number): string {
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`upload chunk start must be a non-negative integer, got ${start}`);
  if (!Number.isSafeInteger(length) || length <= 0) throw new RangeError(`upload chunk length must be a positive integer, got ${length}`);
  return `${start}-${start + length - 1}`;
}

/**
 * How many bytes an upload session holds, from the `Range: 0-<end>` header of a PATCH or status
 * answer (`bytes=0-<end>` accepted too). `0-0` with nothing sent is ambiguous in the spec; the
 * caller knows what it sent. Returns null when the header is absent or unreadable.
 */
export function uploadedBytes(rangeHeader: string | null | undefined): number | null {
  if (!rangeHeader) return null;
  const match = /^\s*(?:bytes=)?0-(\d+)\s*$/.exec(rangeHeader);
  return match ? Number(match[1]) + 1 : null;
}

/** The request `Range` for the rest of a blob from `offset`: `bytes=<offset>-`. */
export function rangeFrom(offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`range offset must be a non-negative integer, got ${offset}`);
  return `bytes=${offset}-`;
}

/** The first byte position of a 206 answer's `Content-Range: bytes <start>-<end>/<size>`, or null. */
export function contentRangeStart(header: string | null | undefined): number | null {
  if (!header) return null;
  const match = /^\s*bytes\s+(\d+)-\d+\/(?:\d+|\*)\s*$/i.exec(header);
  return match ? Number(match[1]) : null;
}
