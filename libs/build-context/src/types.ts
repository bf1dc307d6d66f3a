/** One file, directory or symlink of a resolved source, as found on disk when it was resolved. */
export interface SourceEntry {
  /** Path below the source's root, `/`-separated; `` for a file source itself. */
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink';
  /** Where it is on this machine. */
  readonly hostPath: string;
  /** Permission bits with setuid/setgid/sticky (0o7777). */
  readonly mode: number;
  /** Bytes, for a file. */
  readonly size: number;
  readonly mtimeMs: number;
  /** A symlink's target, as stored (copied verbatim, never followed). */
  readonly linkTarget?: string;  /** sha256 (hex) of a file's content, when known without reading it (from a context index). */
  readonly digest?: string;
}

/** One thing a COPY/ADD source names, ready to be copied and checksummed. */
export interface ResolvedSource {
  /** The source as the instruction wrote it (`./src/*.js`, `https://example.com/a.tgz`). */
  readonly source: string;
  /**
   * Context-relative path of this match as named, before symlinks are followed (`src/a.js`;
   * `` for the context root); the URL for a remote source.
   */
  readonly path: string;
  /**
   * The name a file takes when copied into a directory: the base name of `path` (a symlink's own
   * name, not its target's). For a URL, the file name it gave, or `` when it gave none.
   */
  readonly name: string;
  readonly kind: 'file' | 'directory';
  /** The file or directory on this machine, symlinks followed (inside the context). */
  readonly hostPath: string;
  /**
   * A file source: the file itself (path ``). A directory source: every visible descendant,
   * depth first with each directory's names in byte order (parents before children); the
   * directory itself is not listed (COPY copies its contents).
   */
  readonly entries: readonly SourceEntry[];
  /** Downloaded from a URL: ADD never extracts it. */
  readonly remote: boolean;
}
