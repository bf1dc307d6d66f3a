import { existsSync, statSync } from 'node:fs';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostTools } from './host-tools';
import type { RootfsLedger } from './rootfs-ledger';
import { devTemplate, hostDevices } from './workspace';

/** Printed by the setup script on its status channel once the namespaces are ready. */
export const READY_TOKEN = 'cargohold-sandbox-ready';

// Docker's defaults: these /proc and /sys paths are read-only or hidden in every container. Only
// the ones this kernel has can be mounted over (checked on the host, same kernel).
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export interface PlanInput {
  root: string;
  stateDir: string;
  ledger: RootfsLedger;
  network: 'none' | 'host';
  hostname: string;
  /** false when running unprivileged inside a user namespace. */
  privileged: boolean;
}

/** Files in the state directory and host paths the setup script gets as its arguments. */
export interface Plan {
  fstabEarly: string;
  devTemplate: string;
  dev: string;
  fstabLate: string;
}

/** fstab fields are whitespace-separated; libmount reads octal escapes back. */
export function fstabEscape(p: string): string {
  return p.replace(/[\\ \t\n]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

function fstabLine(source: string, target: string, type: string, options: string): string {
  return `${fstabEscape(source)} ${fstabEscape(target)} ${type} ${options} 0 0\n`;
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

/** Mounts under /proc and /sys that hide or freeze kernel knobs, as Docker does. */
function protectionLines(proc: string, sys: string | undefined): string {
  const inRoot = (p: string): string | undefined =>
    p.startsWith('/proc/') ? path.join(proc, p.slice(6)) : sys ? path.join(sys, p.slice(5)) : undefined;
  let out = '';
  for (const p of READONLY_PATHS) {
    const target = inRoot(p);
    if (target && existsSync(p)) out += fstabLine(target, target, 'none', 'bind,ro,nosuid,nodev,noexec');
  }
  for (const p of MASKED_PATHS) {
    const target = inRoot(p);
    if (!target || !existsSync(p)) continue;
    out += statSync(p).isDirectory()
      ? fstabLine('tmpfs', target, 'tmpfs', 'ro,nosuid,nodev,noexec')
      : fstabLine('/dev/null', target, 'none', 'bind');
  }
  return out;
}

/**
 * Creates the mount points in the root filesystem (recorded in the ledger for removal) and the
 * per-run files: /etc/hosts, /etc/hostname, /etc/resolv.conf and two fstab
 * files for `mount -a` (one `mount` process per stage instead of one per mount).
 */
export async function preparePlan(input: PlanInput): Promise<Plan> {
  const { ledger, stateDir } = input;
  const proc = await ledger.ensure('/proc', 'dir');
  const dev = await ledger.ensure('/dev', 'dir');
  // sysfs belongs to a network namespace; an unprivileged user may not mount the host's.
  const sys = input.privileged || input.network === 'none' ? await ledger.existingDir('/sys') : undefined;
  const etcHosts = await ledger.ensure('/etc/hosts', 'file');
  const etcHostname = await ledger.ensure('/etc/hostname', 'file');
  // Docker gives a build container the host's resolver only when it shares the host's network.
  const hostResolv = input.network === 'host' && existsSync('/etc/resolv.conf');
  const etcResolv = hostResolv ? await ledger.ensure('/etc/resolv.conf', 'file') : undefined;
  await ledger.seal();

  const state = (name: string): string => path.join(stateDir, name);
  await writeFile(state('hosts'), hostsFile(input.hostname));
  await writeFile(state('hostname'), `${input.hostname}\n`);
  if (etcResolv) await copyFile('/etc/resolv.conf', state('resolv.conf'));
  // Readable by any USER whatever this process's umask is.
  for (const name of etcResolv ? ['hosts', 'hostname', 'resolv.conf'] : ['hosts', 'hostname']) await chmod(state(name), 0o644);

  const devices = hostDevices();

  const fstabEarly =
    fstabLine('proc', proc, 'proc', 'rw,nosuid,nodev,noexec') + fstabLine('tmpfs', dev, 'tmpfs', 'rw,nosuid,mode=755,size=65536k');

  // devpts' gid=5 (tty) only exists when the sandbox is not in a user namespace mapping only root.
  const ptsOptions = `rw,nosuid,noexec,newinstance,ptmxmode=0666,mode=0620${input.privileged ? ',gid=5' : ''}`;
  let fstabLate = devices.map((name) => fstabLine(`/dev/${name}`, path.join(dev, name), 'none', 'bind')).join('');
  fstabLate += fstabLine('devpts', path.join(dev, 'pts'), 'devpts', ptsOptions);
  fstabLate += fstabLine('shm', path.join(dev, 'shm'), 'tmpfs', 'rw,nosuid,nodev,noexec,mode=1777,size=65536k');
  fstabLate += fstabLine('mqueue', path.join(dev, 'mqueue'), 'mqueue', 'rw,nosuid,nodev,noexec');
  if (sys) fstabLate += fstabLine('sysfs', sys, 'sysfs', 'ro,nosuid,nodev,noexec');
  fstabLate += protectionLines(proc, sys);
  fstabLate += fstabLine(state('hosts'), etcHosts, 'none', 'bind');
  fstabLate += fstabLine(state('hostname'), etcHostname, 'none', 'bind');
  if (etcResolv) fstabLate += fstabLine(state('resolv.conf'), etcResolv, 'none', 'bind');

  await writeFile(state('fstab.early'), fstabEarly);
  await writeFile(state('fstab.late'), fstabLate);
  return { fstabEarly: state('fstab.early'), devTemplate: await devTemplate(), dev, fstabLate: state('fstab.late') };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script PID 1 of the new namespaces runs before becoming the command. Arguments: early fstab,
 * /dev skeleton, /dev in the rootfs, late fstab, hostname, network, then the command line.
 * File descriptors: 2 is the status channel read by runInSandbox (setup errors, then the ready
 * token), 3 is the command's stderr; it moves to 2 just before the final exec.
 */
export function setupScript(tools: HostTools): string {
  const q = (tool: keyof HostTools): string => shellQuote(tools[tool]);
  return [
    'set -e',
    `${q('mount')} -n --fstab "$1" -a >&2`,
    `${q('cp')} -a "$2/." "$3" >&2`,
    `${q('mount')} -n --fstab "$4" -a >&2`,
    // Root may write the UTS name directly; in a user namespace only sethostname(2) is allowed.
    `{ printf %s "$5" > /proc/sys/kernel/hostname; } 2>/dev/null || ${q('hostname')} "$5" >&2`,
    // A new network namespace starts with lo down; Docker's "none" network has it up.
    `if [ "$6" = none ]; then ${q('ip')} link set lo up >&2; fi`,
    // runc starts every container process with umask 022, whatever the builder's umask is.
    'umask 022',
    `echo ${READY_TOKEN} >&2`,
    'exec 2>&3 3>&-',
    'shift 6',
    'exec "$@"',
  ].join('\n');
}
