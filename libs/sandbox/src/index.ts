/**
 * @cargohold/sandbox: runs one Dockerfile RUN command inside a root filesystem directory on the
 * builder host, in a container made by runc, the OCI runtime Docker itself uses, shaped as
 * Docker's daemon shapes a build container (docs/adr/0007-sandbox-on-runc.md).
 *
 * How: each run gets an OCI bundle in this process's workspace (a private directory on
 * /dev/shm): config.json with the rootfs as `root.path` (read-write), the exact argv, env and
 * working directory, the USER's uid/gid/supplementary groups, the hostname; PID, IPC, UTS and mount
 * namespaces (and a network namespace with lo up for network 'none'); Docker's default
 * capabilities (effective and permitted only for root); Docker's mounts (/proc, tmpfs /dev with
 * devpts, shm and mqueue, read-only sysfs, per-run /etc/hosts, /etc/hostname and, for network
 * 'host', /etc/resolv.conf), masked and read-only paths, default device nodes and device cgroup
 * rules; RLIMIT_NOFILE 1048576 (or the builder's hard limit if lower); a pids limit of 4096 in
 * the cgroup /cargohold-build/<container id>; and a seccomp filter that allows by default and
 * denies what Docker's default profile denies a container without extra capabilities (mount,
 * unshare, setns, clone with namespace flags, keyctl, bpf, ...). `runc run` in the foreground
 * pivot_roots into the rootfs, starts the command as PID 1 of its namespace with umask 022,
 * passes it the stdout/stderr FIFOs (real pipes, so /dev/stdout works), exits with its status
 * (128 + n for signal n) and removes its cgroup and state. runc's own errors go to a JSON log
 * file: a run that never started is SandboxError SETUP with runc's message (exit status 127/126
 * for a command that cannot be found or executed, as Docker reports it). Abort and timeout
 * `runc kill` the container's PID 1, which ends its whole PID namespace.
 *
 * Builder death: runc runs under `setpriv --pdeathsig KILL`, so it never starts a command for a
 * dead builder, and a watchdog (a `sh` in its own session, started with the workspace) waits for
 * EOF on a pipe from this process; however the builder ends (SIGKILL included), the watchdog then
 * `runc delete --force`s its containers and removes the workspace. If the watchdog is killed too
 * (a kill of the builder's whole cgroup), the next builder on the host does it on first use.
 *
 * Requirements: Linux; runc with libseccomp (`apt-get install -y runc`; tested with runc 1.1.5 and
 * libseccomp 2.5.4), util-linux (setpriv), coreutils, /bin/sh. As root: writable cgroups (a
 * builder inside a container needs CAP_SYS_ADMIN and its cgroup filesystem). Not root: runc
 * rootless — a user namespace mapping only root to the builder's own uid/gid, so only USER root
 * works, no supplementary groups, no cgroup (hence no pids limit), and no /sys for network 'host'
 * (a user namespace may not mount the host network's sysfs); the kernel must allow unprivileged
 * user namespaces. `sandboxAvailable()` runs `runc --version` and one real run that gets as far
 * as the final execve.
 *
 * The rootfs after a run: mount points the image lacked (/proc, /dev, /sys, /etc/hosts,
 * /etc/hostname, /etc/resolv.conf, and missing parents such as /etc) are created before runc
 * would create them and removed again, and the directories they were created in get their mtime
 * back (exact to the nanosecond) unless the command itself added or removed entries there. What
 * may remain: the working directory, created 0755 as Docker creates it; a directory the sandbox
 * created that the command wrote into (e.g. /etc when the image had none); changed ctimes of those
 * parent directories; and, if the builder is killed mid-run, the mount points themselves. Writes to
 * /etc/hosts, /etc/hostname, /etc/resolv.conf and /dev go to per-run copies and are not in the
 * layer (as in Docker). One run per root directory at a time.
 *
 * The environment is exactly `env`, plus Docker's default PATH when it has none and the HOME
 * runc adds when it has none (the USER's passwd home, else /). Docker would also add HOSTNAME.
 *
 * Not done: the seccomp filter is a denylist, not Docker's allowlist — syscalls newer than it are
 * allowed, and personality(2) is not restricted (Docker allows five values; runc 1.1.5 does not
 * combine two conditions on one argument, which a denylist of the others would need);
 * no AppArmor/SELinux profile; no /sys/fs/cgroup mount; no memory, CPU or I/O limits; no user
 * namespace for a root builder (root inside is root outside, confined by namespaces,
 * capabilities, seccomp and the device cgroup, as in Docker without userns-remap). stderr
 * written before runc reports the command started is passed on up to a few ms late (see StderrGate).
 */
export { SandboxError } from './errors';
export type { SandboxErrorCode } from './errors';
export { DEFAULT_PATH, runInSandbox } from './sandbox';
export type { SandboxResult, SandboxRun } from './sandbox';
export type { ResourceLimits } from './oci-config';
export { sandboxAvailable } from './available';
export { resolveExecUser } from './user';
export type { ExecUser } from './user';
