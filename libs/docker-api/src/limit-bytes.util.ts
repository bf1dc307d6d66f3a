import { Transform } from 'node:stream';

/** Pass bytes through until `max`, then fail the stream with a message naming what was too big. */
export function limitBytes(max: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(new Error(`${what} exceeds the limit of ${max} bytes`));
      else done(null, chunk);
    },
  });
}
