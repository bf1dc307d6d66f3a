import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, chown, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const HOST_BUSYBOX = '/bin/busybox';

/** Throws with the install command when Debian's static busybox is missing. */
export function requireBusybox(): void {
  try {
    accessSync(HOST_BUSYBOX, constants.X_OK);
  } catch {
    throw new Error(`${HOST_BUSYBOX} is missing: the sandbox tests need Debian's static busybox (apt-get install -y busybox-static)`);
  }
}

export const PASSWD = ['root:x:0:0:root:/root:/bin/sh', 'app:x:1000:1000:app:/home/app:/bin/sh', ''].join('\n');
export const GROUP = ['root:x:0:', 'staff:x:50:app', 'app:x:1000:', ''].join('\n');

async function installApplets(root: string): Promise<void> {
  const chroot = ['chroot', root, '/bin/busybox', '--install', '-s'];
  const [cmd, ...args] = process.getuid?.() === 0 ? chroot : ['unshare', '--user', '--map-root-user', ...chroot];
  try {
    await run(cmd, args);
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`${[cmd, ...args].join(' ')} failed: ${stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

/**
 * A minimal image root: busybox with its applet links, /etc/passwd (root, app 1000) and
 * /etc/group (app also in staff 50). No /proc, /dev, /sys, /etc/hosts: the sandbox must add and
 * remove those itself. Unprivileged callers get the applet links through a user namespace.
 */
export async function createBusyboxRoot(root: string): Promise<string> {
  requireBusybox();
  await mkdir(root, { recursive: true });
  await chmod(root, 0o755); // mkdtemp makes 0700, which would lock out a non-root USER
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'home/app', 'tmp']) {
    await mkdir(path.join(root, dir), { recursive: true });
  }
  await chmod(path.join(root, 'tmp'), 0o1777);
  if (process.getuid?.() === 0) await chown(path.join(root, 'home/app'), 1000, 1000);
  await copyFile(HOST_BUSYBOX, path.join(root, 'bin/busybox'));
  await chmod(path.join(root, 'bin/busybox'), 0o755);
  await installApplets(root);
  await writeFile(path.join(root, 'etc/passwd'), PASSWD);
  await writeFile(path.join(root, 'etc/group'), GROUP);
  return root;
}
