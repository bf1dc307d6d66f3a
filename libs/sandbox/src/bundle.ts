import { existsSync } from 'node:fs';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RootfsLedger } from './rootfs-ledger';

export interface MountPointsInput {
  bundle: string;
  ledger: RootfsLedger;
  network: 'none' | 'host';
  hostname: string;
  /** false for a builder that is not root (runc rootless). */
  privileged: boolean;
}

export interface RunFiles {
  files: { hosts: string; hostname: string; resolvConf?: string };
  sysfs: boolean;
}

/** /etc/hosts as Docker writes it, with the sandbox's own hostname on the loopback address. */
export function hostsFile(hostname: string): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    `127.0.0.1\t${hostname}`,
    '',
  ].join('\n');
}

/**
 * Creates, through the ledger (so that they are removed after the run), every mount point runc
 * would otherwise create in the root filesystem and leave in the layer, and writes the per-run
 * files bind-mounted over /etc/hosts, /etc/hostname and /etc/resolv.conf into the bundle.
 */
export async function prepareMountPoints(input: MountPointsInput): Promise<RunFiles> {
  const { ledger, bundle } = input;
  await ledger.ensure('/proc', 'dir');
  await ledger.ensure('/dev', 'dir');
  // sysfs belongs to a network namespace; a user namespace may not mount the host's.
  const sysfs = input.privileged || input.network === 'none';
  if (sysfs) await ledger.ensure('/sys', 'dir');
  await ledger.ensure('/etc/hosts', 'file');
  await ledger.ensure('/etc/hostname', 'file');
  // Docker gives a build container the host's resolver only when it shares the host's network.
  const resolv = input.network === 'host' && existsSync('/etc/resolv.conf');
  if (resolv) await ledger.ensure('/etc/resolv.conf', 'file');
  await ledger.seal();

  const files = { hosts: path.join(bundle, 'hosts'), hostname: path.join(bundle, 'hostname'), ...(resolv ? { resolvConf: path.join(bundle, 'resolv.conf') } : {}) };
  await writeFile(files.hosts, hostsFile(input.hostname));
  await writeFile(files.hostname, `${input.hostname}\n`);
  if (files.resolvConf) await copyFile('/etc/resolv.conf', files.resolvConf);
  // Readable by any USER whatever this process's umask is.
  for (const file of Object.values(files)) await chmod(file, 0o644);
  return { files, sysfs };
}
