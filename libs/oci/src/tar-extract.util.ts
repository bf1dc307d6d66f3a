import * as tar from 'tar-stream';
import { ArchiveError } from './archive-errors';

export type TarExtract = tar.Extract;
/** One entry's data stream; `header.type` is null at run time for type flags tar-stream does not know. */
export type TarEntry = tar.ExtractEvents['entry'][1];
export type TarHeader = tar.Header;

/** A tar parser that also accepts pre-POSIX (v7) headers, as Go's archive/tar does. */
export function createTarExtract(): TarExtract {
  const options: NonNullable<Parameters<typeof tar.extract>[0]> & { allowUnknownFormat: boolean } = {
    allowUnknownFormat: true,
  };
  return tar.extract(options);
}

/** Signals the end of input (streamx's typings demand an argument that its `end` does not need). */
export function endTarExtract(extract: TarExtract): void {
  extract.end(undefined);
}

/** tar-stream's errors, told in terms of what was expected. */
export function describeTarError(err: Error, current: string, what = 'layer'): ArchiveError {
  const at = current ? ` after entry "${current}"` : '';
  if (/unexpected end of data/i.test(err.message)) {
    if (!current) {
      return new ArchiveError(`${what} is not a tar archive (plain or gzip-compressed): it ended inside the first tar header`);
    }
    return new ArchiveError(`${what} is truncated: the tar stream ended in the middle of an entry${at}`, current || undefined);
  }
  if (/invalid tar header/i.test(err.message) || /invalid header/i.test(err.message)) {
    return new ArchiveError(
      `${what} is not a tar archive (plain or gzip-compressed): archive/tar: invalid tar header${at}`,
      current || undefined,
    );
  }
  return new ArchiveError(`${what} could not be read as a tar archive: ${err.message}${at}`, current || undefined);
}
