import { createHash } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { ArchiveError, UnsafeArchiveError } from './archive-errors';
import { cleanEntryPath, describeUnsafePath, parentPaths } from './archive-path.util';
import { decompress } from './compression.util';
import type { DecompressProgress } from './compression.util';
import type { Sha256Digest } from './digest';
import { createTarExtract, describeTarError, endTarExtract } from './tar-extract.util';
import type { TarEntry, TarHeader } from './tar-extract.util';
import { noop, untilFinished, writeChunk } from './stream.util';

export interface LayerInspectorLimits {
  /** Most entries a layer may hold (default 1,000,000). */
  maxEntries?: number;
  /** Most uncompressed tar bytes a layer may hold (default: no limit). */
  maxBytes?: number;
  /** Largest gzip expansion ratio tolerated once past `ratioThreshold` bytes (default 1000). */
  maxRatio?: number;
  /** Uncompressed size from which `maxRatio` applies (default 64 MiB). */
  ratioThreshold?: number;
}

export interface LayerInspection {
  /** The blob was gzip-compressed. */
  compressed: boolean;
  /** sha256 of the uncompressed tar: what image configs list in `rootfs.diff_ids`. */
  diffId: Sha256Digest;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** Sum of the sizes of the regular files in the layer. */
  contentSize: number;
  entries: number;
}

export interface LayerInspector {
  /**
   * Write the layer blob here. After a failure it keeps accepting (and discarding) bytes, so a
   * caller teeing the same bytes elsewhere never stalls; the failure is reported by `result`.
   */
  sink: Writable;
  /** Settles once the sink has finished (or failed, or was destroyed early). */
  result: Promise<LayerInspection>;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;
export const DEFAULT_MAX_RATIO = 1000;
export const DEFAULT_RATIO_THRESHOLD = 64 * 1024 * 1024;

/** What the layer holds so far, for the link rules. */
class LayerTree {
  entries = 0;
  contentSize = 0;
  /** Paths a hardlink may point at (anything but directories). */
  private readonly linkable = new Set<string>();
  private readonly symlinks = new Set<string>();

  check(header: TarHeader, maxEntries: number): void {
    const name = header.name;
    this.entries += 1;
    if (this.entries > maxEntries) {
      throw new UnsafeArchiveError(`layer has more than ${maxEntries} entries (at "${name}")`, name);
    }
    const cleaned = cleanEntryPath(name);
    if (!cleaned.ok) {
      throw new UnsafeArchiveError(`layer entry "${name}" ${describeUnsafePath(cleaned.reason)}`, name);
    }
    const path = cleaned.path;
    if (path === '' && header.type !== 'directory') {
      throw new UnsafeArchiveError(`layer entry "${name}" would replace the root directory`, name);
    }
    this.refuseThroughSymlink(path, name, `layer entry "${name}"`);

    switch (header.type) {
      case 'file':
      case 'contiguous-file':
        this.contentSize += header.size ?? 0;
        this.add(path, 'linkable');
        return;
      case 'directory':
        this.add(path, 'directory');
        return;
      case 'symlink':
        // Symlinks may point anywhere: absolute targets are normal in a root filesystem.
        this.add(path, 'symlink');
        return;
      case 'fifo':
        this.add(path, 'linkable');
        return;
      case 'link': {
        const linkname = header.linkname ?? '';
        const target = cleanEntryPath(linkname);
        if (!target.ok || target.path === '') {
          throw new UnsafeArchiveError(`hardlink "${name}" points at "${linkname}", outside the layer`, name);
        }
        this.refuseThroughSymlink(target.path, name, `hardlink "${name}" (to "${linkname}")`);
        if (!this.linkable.has(target.path)) {
          throw new UnsafeArchiveError(
            `hardlink "${name}" points at "${linkname}", which is not a file earlier in the layer`,
            name,
          );
        }
        this.add(path, 'linkable');
        return;
      }
      case 'character-device':
      case 'block-device':
        throw new UnsafeArchiveError(`layer entry "${name}" is a ${header.type}; device nodes are refused`, name);
      default:
        throw new UnsafeArchiveError(`layer entry "${name}" has an unsupported tar entry type`, name);
    }
  }

  private refuseThroughSymlink(path: string, name: string, what: string): void {
    if (this.symlinks.size === 0) return;
    for (const parent of parentPaths(path)) {
      if (this.symlinks.has(parent)) {
        throw new UnsafeArchiveError(
          `${what} runs through "${parent}", a symlink defined earlier in the layer`,
          name,
        );
      }
    }
  }

  // A later entry replaces an earlier one at the same path, as extraction would.
  private add(path: string, kind: 'linkable' | 'directory' | 'symlink'): void {
    if (kind === 'symlink') this.symlinks.add(path);
    else this.symlinks.delete(path);
    if (kind === 'directory') this.linkable.delete(path);
    else this.linkable.add(path);
  }
}

export interface LayerInspectorOptions {
  plainDigest?: () => Promise<Sha256Digest>;
}

async function inspect(input: PassThrough, limits: LayerInspectorLimits, options: LayerInspectorOptions): Promise<LayerInspection> {
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  const maxRatio = limits.maxRatio ?? DEFAULT_MAX_RATIO;
  const ratioThreshold = limits.ratioThreshold ?? DEFAULT_RATIO_THRESHOLD;

  const progress: DecompressProgress = { compression: null, compressedBytes: 0 };
  const hash = createHash('sha256');
  const tree = new LayerTree();
  let tarSize = 0;
  let current = '';
  let entryError: Error | null = null;
  let tarError: Error | null = null;

  const extract = createTarExtract();
  extract.on('entry', (header: TarHeader, stream: TarEntry, next: (err?: Error | null) => void) => {
    current = header.name;
    // Destroying the extractor errors the entry stream too; that failure is reported once, below.
    stream.on('error', noop);
    try {
      tree.check(header, maxEntries);
    } catch (err) {
      entryError = err as Error;
      extract.destroy(entryError);
      return;
    }
    stream.on('end', () => next());
    stream.resume();
  });
  extract.on('error', (err: Error) => {
    tarError ??= err;
  });
  const finished = untilFinished(extract);
  finished.catch(noop);

  try {
    for await (const chunk of decompress(input, progress, 'layer')) {
      tarSize += chunk.length;
      if (tarSize > maxBytes) {
        throw new UnsafeArchiveError(
          `layer is larger than the limit of ${maxBytes} bytes uncompressed${current ? ` (at "${current}")` : ''}`,
          current || undefined,
        );
      }
      if (progress.compression === 'gzip' && tarSize > ratioThreshold && tarSize > maxRatio * progress.compressedBytes) {
        throw new UnsafeArchiveError(
          `layer expands more than ${maxRatio}x (${progress.compressedBytes} gzip bytes became ${tarSize}` +
            `${current ? `, at "${current}"` : ''}); refusing a decompression bomb`,
          current || undefined,
        );
      }
      // Hashed inline: with SHA extensions a worker thread's messaging costs more than the hash (ADR 0004).
      if (progress.compression === 'gzip' || !options.plainDigest) hash.update(chunk);
      await writeChunk(extract, chunk);
    }
    endTarExtract(extract);
    await finished;
  } catch (err) {
    extract.destroy(null);
    if (entryError) throw entryError;
    if (err instanceof ArchiveError) throw err;
    if (tarError) throw describeTarError(tarError, current);
    throw err;
  }
  const plain = progress.compression === 'none' || progress.compression === null;
  return {
    compressed: progress.compression === 'gzip',
    diffId: plain && options.plainDigest ? await options.plainDigest() : `sha256:${hash.digest('hex')}`,
    tarSize,
    contentSize: tree.contentSize,
    entries: tree.entries,
  };
}

/**
 * Checks a layer blob while it streams past: computes its diffID and sizes and refuses hostile
 * content (escaping paths, hardlink and symlink escapes, devices, bombs). Never buffers the layer.
 */
/**
 * `options.plainDigest`: for an uncompressed layer the diff ID is the digest of the bytes
 * themselves, which a caller storing them hashes anyway; passing a function that yields that
 * digest (asked once the layer ended) saves hashing every byte twice.
 */
export function createLayerInspector(limits: LayerInspectorLimits = {}, options: LayerInspectorOptions = {}): LayerInspector {
  const input = new PassThrough();
  let settled = false;
  const result = inspect(input, limits, options).finally(() => {
    settled = true;
  });
  result.catch(noop);

  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (settled || input.destroyed) return callback();
      // Inspection failures are reported by `result`; the sink itself keeps draining.
      writeChunk(input, chunk).then(
        () => callback(),
        () => callback(),
      );
    },
    final(callback) {
      if (!settled && !input.destroyed) input.end();
      result.then(
        () => callback(),
        () => callback(),
      );
    },
    destroy(err, callback) {
      if (!settled) input.destroy(err ?? new ArchiveError('layer stream was closed before its end'));
      callback(err);
    },
  });
  return { sink, result };
}

/** Inspects a whole layer blob read from `source` (see createLayerInspector). */
export async function inspectLayer(source: Readable, limits?: LayerInspectorLimits): Promise<LayerInspection> {
  const { sink, result } = createLayerInspector(limits);
  const onSourceError = (err: Error): void => {
    sink.destroy(err);
  };
  source.once('error', onSourceError);
  source.pipe(sink);
  try {
    return await result;
  } catch (err) {
    // Stop reading a layer that has already been refused.
    source.unpipe(sink);
    source.destroy();
    throw err;
  } finally {
    source.off('error', onSourceError);
  }
}
