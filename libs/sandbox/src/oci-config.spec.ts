import { CGROUP_PARENT, DOCKER_CAPABILITIES, ociConfig, PIDS_LIMIT } from './oci-config';
import type { ContainerInput } from './oci-config';

const input = (over: Partial<ContainerInput> = {}): ContainerInput => ({
  id: '0123456789abcdef',
  root: '/var/lib/build/rootfs',
  argv: ['/bin/sh', '-c', 'make'],
  env: ['PATH=/usr/bin:/bin', 'A=b'],
  cwd: '/src',
  user: { uid: 0, gid: 0, supplementaryGids: [10], home: '/root' },
  hostname: 'abc',
  network: 'none',
  files: { hosts: '/ws/run-1/hosts', hostname: '/ws/run-1/hostname' },
  sysfs: true,
  nofile: 1048576,
  arch: 'x64',
  kernelRelease: '6.1.0',
  ...over,
});

const destinations = (config: ReturnType<typeof ociConfig>) => config.mounts.map((m) => m.destination);

describe('ociConfig', () => {
  it('runs the command as given, read-write on the root filesystem, without a terminal or no_new_privs', () => {
    const config = ociConfig(input());
    expect(config.process).toMatchObject({ terminal: false, args: ['/bin/sh', '-c', 'make'], env: ['PATH=/usr/bin:/bin', 'A=b'], cwd: '/src', noNewPrivileges: false });
    expect(config.process.user).toEqual({ uid: 0, gid: 0, additionalGids: [10] });
    expect(config.root).toEqual({ path: '/var/lib/build/rootfs', readonly: false });
    expect(config.hostname).toBe('abc');
    expect(config.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }]);
  });

  it('gives root Docker\'s capabilities, and a non-root user only the bounding set', () => {
    expect(ociConfig(input()).process.capabilities).toEqual({ bounding: DOCKER_CAPABILITIES, effective: DOCKER_CAPABILITIES, permitted: DOCKER_CAPABILITIES });
    const app = ociConfig(input({ user: { uid: 1000, gid: 1000, supplementaryGids: [], home: '/home/app' } }));
    expect(app.process.capabilities).toEqual({ bounding: DOCKER_CAPABILITIES, effective: [], permitted: [] });
  });

  it('isolates the network only for network none', () => {
    expect(ociConfig(input()).linux.namespaces.map((ns) => ns.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
    expect(ociConfig(input({ network: 'host' })).linux.namespaces.map((ns) => ns.type)).toEqual(['pid', 'ipc', 'uts', 'mount']);
  });

  it('mounts what Docker mounts, the per-run files last', () => {
    expect(destinations(ociConfig(input()))).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/dev/mqueue', '/dev/shm', '/etc/hostname', '/etc/hosts']);
    const host = ociConfig(input({ network: 'host', files: { hosts: '/h', hostname: '/n', resolvConf: '/r' } }));
    expect(host.mounts.find((m) => m.destination === '/etc/resolv.conf')).toEqual({ destination: '/etc/resolv.conf', type: 'bind', source: '/r', options: ['rbind', 'rprivate'] });
    expect(host.mounts.find((m) => m.destination === '/sys')?.options).toContain('ro');
    expect(host.mounts.find((m) => m.destination === '/dev/pts')?.options).toContain('gid=5');
    expect(destinations(ociConfig(input({ sysfs: false })))).not.toContain('/sys');
  });

  it('puts a root builder\'s run in a pids-limited cgroup under /cargohold-build with Docker\'s device rules', () => {
    const { linux } = ociConfig(input());
    expect(linux.cgroupsPath).toBe(`${CGROUP_PARENT}/0123456789abcdef`);
    expect(linux.resources?.pids).toEqual({ limit: PIDS_LIMIT });
    expect(linux.resources?.devices[0]).toEqual({ allow: false, access: 'rwm' });
    expect(linux.resources?.devices.slice(1)).toEqual(linux.devices.map((d) => ({ allow: true, type: 'c', major: d.major, minor: d.minor, access: 'rwm' })));
    expect(linux.devices.map((d) => d.path)).toEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
    expect(linux.maskedPaths).toContain('/proc/kcore');
    expect(linux.readonlyPaths).toContain('/proc/sys');
    expect(linux.seccomp.defaultAction).toBe('SCMP_ACT_ALLOW');
  });

  it('maps only root to the builder\'s own ids when rootless, without cgroups, groups or devpts gid', () => {
    const { linux, process, mounts } = ociConfig(input({ rootless: { uid: 1500, gid: 1600 } }));
    expect(linux.namespaces.map((ns) => ns.type)).toContain('user');
    expect(linux.uidMappings).toEqual([{ containerID: 0, hostID: 1500, size: 1 }]);
    expect(linux.gidMappings).toEqual([{ containerID: 0, hostID: 1600, size: 1 }]);
    expect(linux.cgroupsPath).toBeUndefined();
    expect(linux.resources).toBeUndefined();
    expect(process.user.additionalGids).toEqual([]);
    expect(mounts.find((m) => m.destination === '/dev/pts')?.options).not.toContain('gid=5');
  });
});
