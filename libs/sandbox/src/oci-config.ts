import type { ExecUser } from './user';
import { seccompProfile } from './seccomp';
import type { SeccompProfile } from './seccomp';

/** Docker's default capability set: everything else is dropped from the bounding set. */
export const DOCKER_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

// Docker's defaults: these /proc and /sys paths are read-only or hidden in every container
// (runc skips the ones this kernel lacks).
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
export const MASKED_PATHS = [
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

/** Docker's default device nodes; runc creates them (bind-mounts the host's when rootless). */
const DEVICES: [path: string, major: number, minor: number][] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
];

/** Bounds a fork bomb; generous for parallel compilers and JVMs with many threads. */
export const PIDS_LIMIT = 4096;

/** Docker's RLIMIT_NOFILE for containers. */
export const NOFILE_LIMIT = 1048576;

/** Parent of every per-run cgroup (`/cargohold-build/<container id>`), so that they are easy to find. */
export const CGROUP_PARENT = '/cargohold-build';

/**
 * What `docker build --memory/--memory-swap/--cpu-shares/--cpu-period/--cpu-quota/--cpuset-cpus/
 * --shm-size` ask of each RUN container, already validated. Sizes in bytes, times in µs.
 */
export interface ResourceLimits {
  memory?: number;
  /** Memory plus swap; -1 for unlimited swap. */
  memorySwap?: number;
  cpuShares?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpusetCpus?: string;
  /** Size of /dev/shm (Docker's default 64 MiB). */
  shmSize?: number;
}

/** Docker's /dev/shm size for a container that asks for none. */
const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

export interface ContainerInput {
  id: string;
  /** Host path of the root filesystem (mounted read-write). */
  root: string;
  argv: string[];
  env: string[];
  cwd: string;
  user: ExecUser;
  hostname: string;
  network: 'none' | 'host';
  /** Host uid/gid mapped to root for a builder that is not root (runc rootless); undefined as root. */
  rootless?: { uid: number; gid: number };
  /** Host paths of the per-run files bind-mounted over /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  files: { hosts: string; hostname: string; resolvConf?: string };
  /** Whether /sys gets a sysfs (a user namespace may not mount the host network's). */
  sysfs: boolean;
  nofile: number;
  limits?: ResourceLimits;
  arch: NodeJS.Architecture;
  kernelRelease: string;
}

interface Mount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciConfig {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: Mount[];
  linux: {
    namespaces: { type: string }[];
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    gidMappings?: { containerID: number; hostID: number; size: number }[];
    devices: { path: string; type: 'c'; major: number; minor: number; fileMode: number; uid: number; gid: number }[];
    cgroupsPath?: string;
    resources?: {
      devices: { allow: boolean; type?: 'c'; major?: number; minor?: number; access: string }[];
      pids: { limit: number };
      memory?: { limit?: number; swap?: number };
      cpu?: { shares?: number; quota?: number; period?: number; cpus?: string };
    };
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp: SeccompProfile;
  };
}

function mounts(input: ContainerInput): Mount[] {
  // devpts' gid=5 (tty) does not exist in a user namespace that maps only root.
  const pts = ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(input.rootless ? [] : ['gid=5'])];
  const bind = (destination: string, source: string): Mount => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: pts },
    ...(input.sysfs ? [{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }] : []),
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${input.limits?.shmSize ?? DEFAULT_SHM_BYTES}`] },
    ...(input.files.resolvConf ? [bind('/etc/resolv.conf', input.files.resolvConf)] : []),
    bind('/etc/hostname', input.files.hostname),
    bind('/etc/hosts', input.files.hosts),
  ];
}

/** The cgroup part of the limits, as runc takes it (absent fields stay unlimited). */
function cgroupLimits(limits: ResourceLimits | undefined): Pick<NonNullable<OciConfig['linux']['resources']>, 'memory' | 'cpu'> {
  if (!limits) return {};
  const memory = { ...(limits.memory !== undefined ? { limit: limits.memory } : {}), ...(limits.memorySwap !== undefined ? { swap: limits.memorySwap } : {}) };
  const cpu = {
    ...(limits.cpuShares !== undefined ? { shares: limits.cpuShares } : {}),
    ...(limits.cpuQuota !== undefined ? { quota: limits.cpuQuota } : {}),
    ...(limits.cpuPeriod !== undefined ? { period: limits.cpuPeriod } : {}),
    ...(limits.cpusetCpus !== undefined ? { cpus: limits.cpusetCpus } : {}),
  };
  return { ...(Object.keys(memory).length ? { memory } : {}), ...(Object.keys(cpu).length ? { cpu } : {}) };
}

/**
 * The config.json of one RUN's OCI bundle, shaped as Docker's daemon shapes a build container's
 * spec: default capabilities (effective and permitted only for root, as execve would leave them),
 * default mounts, masked and read-only paths, devices and seccomp; no new privileges flag.
 */
export function ociConfig(input: ContainerInput): OciConfig {
  const { user, rootless } = input;
  const caps = DOCKER_CAPABILITIES;
  const capabilities = user.uid === 0 ? { bounding: caps, effective: caps, permitted: caps } : { bounding: caps, effective: [], permitted: [] };
  const namespaces = ['pid', 'ipc', 'uts', 'mount', ...(input.network === 'none' ? ['network'] : []), ...(rootless ? ['user'] : [])];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      // A user namespace mapping only root allows no setgroups(2).
      user: { uid: user.uid, gid: user.gid, additionalGids: rootless ? [] : user.supplementaryGids },
      args: input.argv,
      env: input.env,
      cwd: input.cwd,
      capabilities,
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: input.nofile, soft: input.nofile }],
      noNewPrivileges: false,
    },
    root: { path: input.root, readonly: false },
    hostname: input.hostname,
    mounts: mounts(input),
    linux: {
      namespaces: namespaces.map((type) => ({ type })),
      ...(rootless
        ? {
            uidMappings: [{ containerID: 0, hostID: rootless.uid, size: 1 }],
            gidMappings: [{ containerID: 0, hostID: rootless.gid, size: 1 }],
          }
        : {
            // A rootless runc cannot create cgroups on this layout: no limits there (see index.ts).
            cgroupsPath: `${CGROUP_PARENT}/${input.id}`,
            // Deny, then allow the devices above: runc drops its own rule for a device the spec lists,
            // and appends the rest of its defaults (ptys, tun, mknod) after these.
            resources: {
              devices: [{ allow: false, access: 'rwm' }, ...DEVICES.map(([, major, minor]) => ({ allow: true, type: 'c' as const, major, minor, access: 'rwm' }))],
              pids: { limit: PIDS_LIMIT },
              ...cgroupLimits(input.limits),
            },
          }),
      devices: DEVICES.map(([path, major, minor]) => ({ path, type: 'c', major, minor, fileMode: 0o666, uid: 0, gid: 0 })),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      seccomp: seccompProfile(input.arch, input.kernelRelease),
    },
  };
}
