/**
 * Regroup a byte stream into parts of exactly `partSize` bytes (the last one may be shorter;
 * an empty stream yields nothing). Holds at most one part at a time, as S3 multipart needs.
 */
export async function* fixedSizeParts(chunks: AsyncIterable<Buffer>, partSize: number): AsyncGenerator<Buffer> {
  if (!Number.isSafeInteger(partSize) || partSize <= 0) throw new RangeError(`part size must be a positive integer, got ${partSize}`);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of chunks) {
    let rest = chunk;
    while (pendingBytes + rest.length >= partSize) {
      const take = partSize - pendingBytes;
      pending.push(rest.subarray(0, take));
      rest = rest.subarray(take);
      const part = Buffer.concat(pending, partSize);
      pending = [];
      pendingBytes = 0;
      yield part;
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
