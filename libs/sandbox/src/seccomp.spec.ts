import { CLONE_NAMESPACE_FLAGS, seccompProfile } from './seccomp';

const denied = (release = '6.1.0') => seccompProfile('x64', release).syscalls.filter((rule) => !rule.args).flatMap((rule) => rule.names);

describe('seccompProfile', () => {
  it('allows by default and covers the 32-bit ABIs of a 64-bit host, as Docker\'s archMap does', () => {
    expect(seccompProfile('x64', '6.1.0')).toMatchObject({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] });
    expect(seccompProfile('arm64', '6.1.0').architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(seccompProfile('riscv64', '6.1.0').architectures).toBeUndefined();
  });

  it('denies with EPERM what needs capabilities a build container lacks, and clone3 with ENOSYS', () => {
    expect(denied()).toEqual(expect.arrayContaining(['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'keyctl', 'add_key', 'bpf', 'kexec_load', 'init_module', 'open_by_handle_at', 'userfaultfd', 'perf_event_open', 'io_uring_setup']));
    const rules = seccompProfile('x64', '6.1.0').syscalls;
    expect(rules.find((rule) => rule.names.includes('mount'))?.errnoRet).toBe(1);
    expect(rules.find((rule) => rule.names.includes('clone3'))).toEqual({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    // Allowed in Docker's profile (chroot: CAP_SYS_CHROOT is a default capability).
    expect(denied()).not.toContain('chroot');
    expect(denied()).not.toContain('name_to_handle_at');
  });

  it('denies ptrace only on kernels before 4.8, as Docker does', () => {
    expect(denied('6.1.0')).not.toContain('ptrace');
    expect(denied('4.8.0')).not.toContain('ptrace');
    expect(denied('4.4.0-210-generic')).toEqual(expect.arrayContaining(['ptrace', 'process_vm_readv', 'process_vm_writev']));
  });

  it('denies clone with any namespace flag, one rule per flag, on the flags argument of the architecture', () => {
    const clone = seccompProfile('x64', '6.1.0').syscalls.filter((rule) => rule.names.includes('clone') && rule.args);
    expect(clone.map((rule) => rule.args)).toEqual(CLONE_NAMESPACE_FLAGS.map((flag) => [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }]));
    expect(CLONE_NAMESPACE_FLAGS.reduce((a, b) => a | b, 0)).toBe(0x7e020000); // Docker's mask
    const s390x = seccompProfile('s390x', '6.1.0').syscalls.filter((rule) => rule.names.includes('clone') && rule.args);
    expect(s390x.every((rule) => rule.args?.[0].index === 1)).toBe(true);
  });
});
