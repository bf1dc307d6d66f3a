import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Header, Pack } from 'tar-stream';
import { pack as createPack } from 'tar-stream';
import { deterministicBytes } from './deterministic-bytes.util';
import type { FixtureEntry, FixtureLayer } from './fixture.types';

/** Every fixture tar entry carries this mtime, so the same input always gives the same bytes. */
export const FIXTURE_MTIME = new Date('2024-01-01T00:00:00Z');

type Body = () => Iterable<Buffer> | AsyncIterable<Buffer>;

/** One tar entry, fully described before anything is written. */
export interface TarItem {
  header: Header;
  body?: Body;
  /** Content read from disk, which could change between the two passes over a layer. */
  fromDisk?: boolean;
}

/** A layer's digest and size, known before it is copied into an archive. */
export interface LayerDigest {
  diffId: string;
  size: number;
}

const WHITEOUT_PREFIX = '.wh.';

/** The sorted tar entries of a layer (implicit parent directories added for `files` layers). */
export async function layerItems(layer: FixtureLayer): Promise<TarItem[]> {
  const items = 'files' in layer ? await itemsFromEntries(layer.files) : await itemsFromDirectory(layer.directory);
  return items.sort((a, b) => compareNames(sortKey(a), sortKey(b)));
}

/** Streams the layer tar; errors destroy the returned stream. */
export function layerTar(items: TarItem[]): Pack {
  const pack = createPack();
  writeItems(pack, items).then(
    () => pack.finalize(),
    (error: unknown) => pack.destroy(asError(error)),
  );
  return pack;
}

/** First pass over a layer: its diff ID and size, hashing the tar as it is generated. */
export async function digestLayer(items: TarItem[]): Promise<LayerDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of layerTar(items)) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    size += bytes.length;
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

/** Adds one entry and resolves once tar-stream has taken all of it (back-pressure respected). */
export function addTarEntry(pack: Pack, header: Header, body?: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null): void => (error ? reject(error) : resolve());
    if (!body) {
      pack.entry(header, done);
      return;
    }
    const sink = pack.entry(header, done);
    const pump = async (): Promise<void> => {
      for await (const chunk of body) {
        if (!sink.write(chunk)) {
          await new Promise<void>((next) => {
            // Whichever comes first; the other listener goes too, so none pile up.
            const settle = (): void => {
              sink.off('drain', settle);
              sink.off('close', settle);
              next();
            };
            sink.once('drain', settle);
            sink.once('close', settle);
          });
        }
        if (sink.destroyed) throw new Error(`tar entry ${header.name} was closed while being written`);
      }
      sink.end(undefined);
    };
    pump().catch((error: unknown) => {
      sink.destroy(asError(error));
      reject(asError(error));
    });
  });
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

async function writeItems(pack: Pack, items: TarItem[]): Promise<void> {
  for (const item of items) await addTarEntry(pack, item.header, item.body?.());
}

function header(name: string, fields: Partial<Header> & Pick<Header, 'type'>): Header {
  const isDir = fields.type === 'directory';
  return {
    name: isDir && !name.endsWith('/') ? `${name}/` : name,
    size: 0,
    mode: isDir ? 0o755 : 0o644,
    mtime: FIXTURE_MTIME,
    linkname: '',
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
    ...fields,
  };
}

/** `/a/b`, `./a/b` → `a/b`; `..` segments are kept so hostile fixtures stay hostile. */
function entryName(raw: string): string {
  const name = raw.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
  if (!name) throw new Error(`fixture entry path "${raw}" names the root; give a path below it`);
  return name;
}

async function itemsFromEntries(entries: FixtureEntry[]): Promise<TarItem[]> {
  const items = new Map<string, TarItem>();
  for (const entry of entries) {
    const item = await itemFromEntry(entry);
    const key = sortKey(item);
    if (items.has(key)) throw new Error(`fixture layer lists "${key}" twice`);
    items.set(key, item);
  }
  // Real layers carry the parent directories of what they change; tools expect them.
  for (const key of [...items.keys()]) {
    const parts = key.split('/');
    if (parts.some((part) => part === '..' || part === '.')) continue;
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!items.has(parent)) items.set(parent, { header: header(parent, { type: 'directory' }) });
    }
  }
  return [...items.values()];
}

async function itemFromEntry(entry: FixtureEntry): Promise<TarItem> {
  const name = entryName(entry.path);
  const owner = { uid: entry.uid ?? 0, gid: entry.gid ?? 0, ...(entry.mode === undefined ? {} : { mode: entry.mode }) };
  if ('content' in entry) {
    const bytes = typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content;
    return { header: header(name, { type: 'file', size: bytes.length, ...owner }), body: () => [bytes] };
  }
  if ('source' in entry) {
    const info = await stat(entry.source);
    const mode = entry.mode ?? info.mode & 0o7777;
    return {
      header: header(name, { type: 'file', size: info.size, ...owner, mode }),
      body: () => createReadStream(entry.source, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>,
      fromDisk: true,
    };
  }
  if ('generated' in entry) {
    const { size, fill, seed } = entry.generated;
    return { header: header(name, { type: 'file', size, ...owner }), body: () => deterministicBytes(size, fill, seed ?? name) };
  }
  if ('symlink' in entry) return { header: header(name, { type: 'symlink', linkname: entry.symlink, mode: 0o777, ...owner }) };
  if ('hardlink' in entry) return { header: header(name, { type: 'link', linkname: entry.hardlink.replace(/^\/+/, ''), ...owner }) };
  if ('dir' in entry) return { header: header(name, { type: 'directory', ...owner }) };
  if ('whiteout' in entry) {
    const whiteout = path.posix.join(path.posix.dirname(name), `${WHITEOUT_PREFIX}${path.posix.basename(name)}`);
    return { header: header(whiteout, { type: 'file', ...owner }), body: () => [] };
  }
  const { kind, major, minor } = entry.device;
  return {
    header: header(name, { type: kind === 'char' ? 'character-device' : 'block-device', devmajor: major, devminor: minor, ...owner }),
  };
}

/** Walks a directory: content, modes and symlinks as on disk; owner 0:0 and a fixed mtime. */
async function itemsFromDirectory(root: string): Promise<TarItem[]> {
  const items: TarItem[] = [];
  const seenInodes = new Map<string, string>();
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(path.join(root, relative))).sort(compareNames);
    for (const child of names) {
      const rel = relative ? `${relative}/${child}` : child;
      const full = path.join(root, rel);
      const info = await lstat(full);
      const mode = info.mode & 0o7777;
      if (info.isDirectory()) {
        items.push({ header: header(rel, { type: 'directory', mode }) });
        await walk(rel);
      } else if (info.isSymbolicLink()) {
        items.push({ header: header(rel, { type: 'symlink', mode, linkname: await readlink(full) }) });
      } else if (info.isFile()) {
        const inode = `${info.dev}:${info.ino}`;
        const first = info.nlink > 1 ? seenInodes.get(inode) : undefined;
        if (first !== undefined) {
          items.push({ header: header(rel, { type: 'link', mode, linkname: first }) });
          continue;
        }
        if (info.nlink > 1) seenInodes.set(inode, rel);
        items.push({
          header: header(rel, { type: 'file', mode, size: info.size }),
          body: () => createReadStream(full, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>,
          fromDisk: true,
        });
      } else if (info.isCharacterDevice() || info.isBlockDevice()) {
        const type = info.isCharacterDevice() ? 'character-device' : 'block-device';
        items.push({ header: header(rel, { type, mode, devmajor: deviceMajor(info.rdev), devminor: deviceMinor(info.rdev) }) });
      } else if (info.isFIFO()) {
        items.push({ header: header(rel, { type: 'fifo', mode }) });
      } else {
        throw new Error(`cannot put ${full} into a fixture layer: sockets have no tar representation`);
      }
    }
  };
  await walk('');
  return items;
}

// Linux dev_t encoding (glibc gnu_dev_major / gnu_dev_minor).
function deviceMajor(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}

function deviceMinor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

function sortKey(item: TarItem): string {
  return item.header.name.replace(/\/$/, '');
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
