/**
 * @cargohold/sandbox: runs one Dockerfile RUN command inside a root filesystem directory on the
 * builder host, as Docker's legacy builder runs it in a container, with no container runtime.
 *
 * How: util-linux `unshare` creates PID, mount, UTS, IPC (and for network 'none' network)
 * namespaces. A /bin/sh script inside mounts, in two `mount -a` passes, a fresh /proc (Docker's
 * read-only and masked /proc paths included), a tmpfs /dev (host null, zero, full, random,
 * urandom, tty bind-mounted; devpts, shm, mqueue, the usual symlinks), read-only sysfs when the
 * image has /sys, and /etc/hosts + /etc/hostname (+ the host's /etc/resolv.conf for network
 * 'host') from per-run files; brings lo up; sets the hostname and umask 022. Then `env -i` (the
 * exact environment) → `setpriv` (gid, supplementary groups, Docker's default capability bounding
 * set) → `unshare --root --wd --setuid` (chroot, working directory, uid) exec the command, which
 * is PID 1 of its namespace. stdout/stderr are FIFOs (real pipes, so /dev/stdout works).
 *
 * Requirements: Linux; util-linux ≥ 2.36 (unshare, setpriv), mount, coreutils (env, cp, touch,
 * mkfifo), hostname, iproute2 (`ip`), /bin/sh: all in a default Debian install (else
 * `apt-get install -y util-linux mount coreutils hostname iproute2`). As root nothing else (a
 * builder inside a container needs CAP_SYS_ADMIN). Unprivileged it runs in a user namespace
 * mapping only uid 0: the kernel must allow unprivileged user namespaces, only USER root works,
 * supplementary groups are not set, and /sys is not mounted with network 'host'.
 * `sandboxAvailable()` probes all of this with one real setup.
 *
 * The rootfs after a run: mount points the image lacked (/proc, /dev, /etc/hosts, /etc/hostname,
 * /etc/resolv.conf, and missing parents such as /etc) are removed again, and the directories
 * they were created in get their mtime back (exact to the nanosecond) unless the command itself
 * added or removed entries there. What may remain: the working directory, created 0755 as Docker
 * creates it; a directory the sandbox created that the command wrote into (e.g. /etc when the
 * image had none: the command's files need it); changed ctimes of those parent directories.
 * Writes to /etc/hosts, /etc/hostname, /etc/resolv.conf and /dev go to per-run copies and are
 * not in the layer (as in Docker). One run per root directory at a time.
 *
 * The environment is exactly `env`, plus Docker's default PATH when it has none. Docker's runtime
 * would also add HOSTNAME and (when missing) HOME; `resolveExecUser(root, user).home` gives HOME.
 *
 * Not a security boundary against hostile Dockerfiles: the command runs in a chroot (not behind
 * pivot_root, seccomp or cgroups), and root inside keeps CAP_SYS_CHROOT, enough to leave a
 * chroot. A sandbox whose USER is not root can outlive a Node process that is SIGKILLed (the
 * kernel drops the parent-death signal on the uid switch); on a normal exit it is killed.
 */
export { SandboxError } from './errors';
export type { SandboxErrorCode } from './errors';
export { DEFAULT_PATH, runInSandbox } from './sandbox';
export type { SandboxResult, SandboxRun } from './sandbox';
export { sandboxAvailable } from './available';
export { resolveExecUser } from './user';
export type { ExecUser } from './user';
