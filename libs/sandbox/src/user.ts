import { readFile } from 'node:fs/promises';
import { SandboxError } from './errors';
import { resolveInRoot } from './scoped-path';

/** The credentials a RUN executes with, as Docker derives them from USER. */
export interface ExecUser {
  uid: number;
  gid: number;
  /** Supplementary groups: only when the user was matched by name/uid and no group was given. */
  supplementaryGids: number[];
  /** From the passwd entry; `/` when there is none. Docker's runtime sets HOME to it when env lacks HOME. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

/** Go's strconv.Atoi: optional sign and decimal digits only; anything else is not a number. */
function atoi(text: string): number | undefined {
  return /^[+-]?\d+$/.test(text) ? Number(text) : undefined;
}

/** Docker ignores unparsable numeric fields in these files (they read as 0). */
function field(text: string | undefined): number {
  return atoi(text ?? '') ?? 0;
}

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => line.split(':'));
}

export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).map(([name = '', , uid, gid, , home = '']) => ({ name, uid: field(uid), gid: field(gid), home }));
}

export function parseGroup(text: string): GroupEntry[] {
  return lines(text).map(([name = '', , gid, list = '']) => ({
    name,
    gid: field(gid),
    members: list === '' ? [] : list.split(','),
  }));
}

function checkRange(id: number): number {
  if (id < 0 || id > MAX_ID) throw new SandboxError('USER', `uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

/**
 * Resolves a Dockerfile USER value (`name`, `uid`, `uid:gid`, `name:group`, ...) the way Docker's
 * runtime does (runc's GetExecUser): first passwd match wins; a number without an entry is used
 * as is; a name without an entry is an error. `passwd`/`group` are the file contents, or null
 * when the image has no such file.
 */
export function resolveUserSpec(spec: string, passwd: string | null, group: string | null): ExecUser {
  const [userArg = '', groupArg = ''] = spec.split(':');
  const uidArg = atoi(userArg);
  const gidArg = atoi(groupArg);
  const user: ExecUser = { uid: 0, gid: 0, supplementaryGids: [], home: '/' };

  const match = parsePasswd(passwd ?? '').find((entry) => {
    if (userArg === '') return entry.uid === 0;
    return uidArg !== undefined ? entry.uid === uidArg : entry.name === userArg;
  });
  if (match) {
    Object.assign(user, { uid: match.uid, gid: match.gid, home: match.home });
  } else if (userArg !== '') {
    if (uidArg === undefined) throw new SandboxError('USER', `unable to find user ${userArg}: no matching entries in passwd file`);
    user.uid = checkRange(uidArg);
  }

  if (groupArg === '' && !match) return user;
  const groups = parseGroup(group ?? '').filter((entry) => {
    if (groupArg === '') return entry.members.includes(match?.name ?? '');
    return gidArg !== undefined ? entry.gid === gidArg : entry.name === groupArg;
  });
  if (groupArg === '') {
    user.supplementaryGids = groups.map((entry) => entry.gid);
  } else if (groups.length > 0) {
    user.gid = groups[0].gid;
  } else {
    if (gidArg === undefined) throw new SandboxError('USER', `unable to find group ${groupArg}: no matching entries in group file`);
    user.gid = checkRange(gidArg);
  }
  return user;
}

async function readInRoot(root: string, inRootPath: string): Promise<string | null> {
  try {
    return await readFile(await resolveInRoot(root, inRootPath), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    throw err;
  }
}

/** Resolves USER against root/etc/passwd and root/etc/group (symlinks followed inside root). */
export async function resolveExecUser(root: string, spec: string | undefined): Promise<ExecUser> {
  const [passwd, group] = await Promise.all([readInRoot(root, '/etc/passwd'), readInRoot(root, '/etc/group')]);
  return resolveUserSpec(spec ?? '', passwd, group);
}
