/** The `linux.seccomp` object of an OCI runtime config, as runc reads it. */
export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ALLOW';
  architectures?: string[];
  syscalls: SeccompRule[];
}

export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ERRNO';
  errnoRet: number;
  args?: { index: number; value: number; valueTwo: number; op: 'SCMP_CMP_MASKED_EQ' | 'SCMP_CMP_EQ' }[];
}

const EPERM = 1;
const ENOSYS = 38;

/**
 * What Docker's default profile (an allowlist) refuses a container that has only Docker's default
 * capabilities, written the other way round: everything else is allowed. Grouped by the
 * capability Docker would require; the names are libseccomp's (runc skips a name it does not
 * know, so obsolete and other-architecture names are harmless).
 */
const DENIED: Record<string, string[]> = {
  // Namespaces, mounts and other whole-system state.
  CAP_SYS_ADMIN: [
    'bpf',
    'fanotify_init',
    'fsconfig',
    'fsmount',
    'fsopen',
    'fspick',
    'lookup_dcookie',
    'mount',
    'mount_setattr',
    'move_mount',
    'open_tree',
    'perf_event_open',
    'quotactl',
    'quotactl_fd',
    'setdomainname',
    'sethostname',
    'setns',
    'syslog',
    'umount',
    'umount2',
    'unshare',
  ],
  CAP_SYS_BOOT: ['reboot', 'kexec_load', 'kexec_file_load'],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module', 'create_module', 'get_kernel_syms', 'query_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'migrate_pages', 'move_pages'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  // In no container: the kernel keyring is not namespaced; the rest is obsolete or host-wide.
  never: [
    'add_key',
    'keyctl',
    'request_key',
    'pivot_root',
    'swapon',
    'swapoff',
    'userfaultfd',
    '_sysctl',
    'sysfs',
    'ustat',
    'uselib',
    'nfsservctl',
    'vm86',
    'vm86old',
    'afs_syscall',
    'getpmsg',
    'putpmsg',
    'security',
    'tuxcall',
    'vserver',
    // Docker 25 dropped io_uring from its default profile: a large kernel attack surface.
    'io_uring_setup',
    'io_uring_enter',
    'io_uring_register',
  ],
};

// Docker allows these from kernel 4.8 on, where seccomp can no longer be bypassed with ptrace.
const PTRACE_BEFORE_4_8 = ['ptrace', 'process_vm_readv', 'process_vm_writev'];

/** clone(2) flags that create namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET). */
export const CLONE_NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];

const AF_VSOCK = 40;

// Docker's archMap: a 64-bit host also runs the 32-bit ABIs, whose syscall numbers differ.
const ARCHITECTURES: Partial<Record<NodeJS.Architecture, string[]>> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  ia32: ['SCMP_ARCH_X86'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  arm: ['SCMP_ARCH_ARM'],
};

function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = release.split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

/**
 * The seccomp profile of every sandboxed command: allow by default, EPERM for what Docker's
 * default profile denies (see DENIED), clone(2) with a namespace flag, and socket(AF_VSOCK);
 * ENOSYS for clone3(2), whose flags seccomp cannot inspect (libc then falls back to clone).
 */
export function seccompProfile(arch: NodeJS.Architecture, kernelRelease: string): SeccompProfile {
  const names = Object.values(DENIED).flat();
  if (!kernelAtLeast(kernelRelease, 4, 8)) names.push(...PTRACE_BEFORE_4_8);
  const syscalls: SeccompRule[] = [{ names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }];
  // One rule per flag: the rules for a syscall are alternatives, while the conditions of one rule
  // all apply (and two on the same argument did not combine in runc 1.1.5). s390x passes clone's
  // flags second.
  const flagsArg = arch === 's390x' ? 1 : 0;
  for (const flag of CLONE_NAMESPACE_FLAGS) {
    syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index: flagsArg, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }] });
  }
  syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  syscalls.push({ names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index: 0, value: AF_VSOCK, valueTwo: 0, op: 'SCMP_CMP_EQ' }] });
  const architectures = ARCHITECTURES[arch];
  return { defaultAction: 'SCMP_ACT_ALLOW', ...(architectures ? { architectures } : {}), syscalls };
}
