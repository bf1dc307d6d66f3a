import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

/** Absolute paths of the host programs the sandbox runs (never looked up through the run's PATH). */
export interface HostTools {
  /** The OCI runtime that creates and runs each container. */
  runc: string;
  /** Gives runc a parent-death signal, so that it dies with this process. */
  setpriv: string;
  /** Runs the watchdog that removes this process's containers once it is gone. */
  sh: string;
  rm: string;
  touch: string;
  mkfifo: string;
}

// The Debian package of each tool, for the "how to install it" half of an unavailability message.
const PACKAGES: Record<keyof HostTools, string> = {
  runc: 'runc',
  setpriv: 'util-linux',
  sh: 'dash',
  rm: 'coreutils',
  touch: 'coreutils',
  mkfifo: 'coreutils',
};

const SEARCH_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/** The PATH the helper processes (not the sandboxed command) run with. */
export const HOST_PATH = SEARCH_DIRS.join(':');

async function locate(name: string): Promise<string | undefined> {
  for (const dir of SEARCH_DIRS) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

let located: Promise<HostTools | string> | undefined;

/** The tools, or a message naming the missing ones and the packages that provide them. */
export function locateHostTools(): Promise<HostTools | string> {
  located ??= (async () => {
    const names = Object.keys(PACKAGES) as (keyof HostTools)[];
    const found = await Promise.all(names.map(locate));
    const missing = names.filter((_, i) => !found[i]);
    if (missing.length > 0) {
      located = undefined; // look again next time: the tools may get installed meanwhile
      const packages = [...new Set(missing.map((name) => PACKAGES[name]))].join(' ');
      return `the sandbox needs ${missing.join(', ')} on the host (install with: apt-get install -y ${packages})`;
    }
    return Object.fromEntries(names.map((name, i) => [name, found[i]])) as unknown as HostTools;
  })();
  return located;
}
