import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { CopyError } from './errors';
import { readFileNoFollow } from './fs-util';
import { resolveBelow } from './scoped-path';
import type { Identity } from './tree-writer';

/** /etc/passwd and /etc/group larger than this are refused rather than read. */
const MAX_ID_FILE_BYTES = 16 * 1024 * 1024;
const MAX_ID = 0xfffffffe;
/** Both files keep the numeric id third: `name:password:id:…`. */
const ID_FIELD = 2;

const PREFIX = 'unable to convert uid/gid chown string to host mapping';

/**
 * The uid/gid a `--chown` flag names, looked up in the rootfs's /etc/passwd and /etc/group (found
 * with symlinks resolved inside the rootfs) as the legacy builder does: `user:group` or `user`
 * (then the group is looked up by the same string), each part a number or a name.
 */
export async function resolveChown(spec: string, rootfs: string): Promise<Identity> {
  const parts = spec.split(':');
  if (parts.length > 2) throw new CopyError(`${PREFIX}: invalid chown string format: ${spec}`);
  const [user, group = user] = parts;
  const uid = await lookup(rootfs, 'passwd', user);
  const gid = await lookup(rootfs, 'group', group);
  return { uid, gid };
}

function numeric(value: string): number | null {
  if (!/^\d+$/.test(value)) return null;
  const id = Number(value);
  return id <= MAX_ID ? id : null;
}

async function lookup(rootfs: string, file: 'passwd' | 'group', name: string): Promise<number> {
  const id = numeric(name);
  if (id !== null) return id;
  const what = file === 'passwd' ? { id: 'uid', kind: 'user' } : { id: 'gid', kind: 'group' };
  const fail = (reason: string): CopyError =>
    new CopyError(`${PREFIX}: can't find ${what.id} for ${what.kind} ${name}: ${reason}`);

  const path = await resolveBelow(rootfs, `etc/${file}`, 'scope');
  if (path.stats === null) throw fail(`open /etc/${file}: no such file or directory`);
  if (!path.stats.isFile()) throw fail(`open /etc/${file}: not a regular file`);
  if (path.stats.size > MAX_ID_FILE_BYTES) throw fail(`/etc/${file} is larger than ${MAX_ID_FILE_BYTES} bytes`);

  const found = await findId(path.hostPath, name);
  if (found === null) throw fail(`no such ${what.kind}: ${name}`);
  return found;
}

/** The id of the first line naming `name`; lines whose id is not a number are passed over. */
async function findId(hostPath: string, name: string): Promise<number | null> {
  const stream = Readable.from(readFileNoFollow(hostPath, { end: MAX_ID_FILE_BYTES }));
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const raw of lines) {
      const id = parseIdLine(raw, name);
      if (id !== null) return id;
    }
    return null;
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** The id in one passwd/group line (`name:password:id:…`) when the line names `name`. */
export function parseIdLine(raw: string, name: string): number | null {
  const line = raw.trim();
  if (line === '') return null;
  const fields = line.split(':');
  if (fields[0] !== name) return null;
  return numeric(fields[ID_FIELD] ?? '');
}
