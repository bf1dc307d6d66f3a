import os from 'node:os';
import { Controller, Get, Head, Header, Inject, UseFilters } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { ImageEntity } from '@cargohold/db';
import { ContainersService } from '@cargohold/image-store';
import { API_VERSION, CARGOHOLD_VERSION, MIN_API_VERSION } from './api-version';
import { DockerErrorFilter } from './docker-error.filter';

const PING_HEADERS = {
  'API-Version': API_VERSION,
  // The CLI only sends `docker build --squash` to a daemon that says it is experimental; squash
  // is the one experimental feature the legacy builder has, and cargohold implements it.
  'Docker-Experimental': 'true',
  OSType: 'linux',
  // The legacy builder: `docker build` uses /build without BuildKit.
  'Builder-Version': '1',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
};

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** `/_ping`, `/version`, `/info`: what the docker CLI asks before anything else. */
@Controller()
@UseFilters(DockerErrorFilter)
export class SystemController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly containers: ContainersService,
  ) {}

  @Get('_ping')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @Headers(PING_HEADERS)
  ping(): string {
    return 'OK';
  }

  @Head('_ping')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @Headers(PING_HEADERS)
  pingHead(): string {
    return '';
  }

  @Get('version')
  version() {
    const engine = {
      Version: CARGOHOLD_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'cargohold',
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: ARCH[process.arch] ?? process.arch,
      KernelVersion: os.release(),
      BuildTime: '',
    };
    return {
      Platform: { Name: `cargohold ${CARGOHOLD_VERSION}` },
      Components: [{ Name: 'Engine', Version: CARGOHOLD_VERSION, Details: { ...engine } }],
      ...engine,
      // Top level only: Components[].Details is a map of strings to the CLI.
      Experimental: true,
    };
  }

  @Get('info')
  async info() {
    const images = await this.dataSource.getRepository(ImageEntity).count();
    const containers = await this.containers.count();
    return {
      ID: 'cargohold',
      // Containers are pins that never run: every one counts as stopped.
      Containers: containers,
      ContainersRunning: 0,
      ContainersPaused: 0,
      ContainersStopped: containers,
      Images: images,
      Driver: 'cargohold',
      DriverStatus: [
        ['Blob store', this.config.blobs.driver],
        ['Metadata', this.config.database.type],
      ],
      Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
      MemoryLimit: false,
      SwapLimit: false,
      CpuCfsPeriod: false,
      CpuCfsQuota: false,
      CPUShares: false,
      CPUSet: false,
      PidsLimit: false,
      IPv4Forwarding: false,
      Debug: false,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'none',
      CgroupDriver: 'none',
      CgroupVersion: '2',
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: 'cargohold image service',
      OSVersion: CARGOHOLD_VERSION,
      OSType: 'linux',
      Architecture: os.machine(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'], Mirrors: [] },
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      GenericResources: null,
      DockerRootDir: this.config.dataDir,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: true,
      ServerVersion: CARGOHOLD_VERSION,
      Runtimes: {},
      DefaultRuntime: 'none',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      SecurityOptions: [],
      Warnings: null,
    };
  }
}

/** Several fixed response headers at once. */
function Headers(headers: Record<string, string>): MethodDecorator {
  return (target, key, descriptor) => {
    for (const [name, value] of Object.entries(headers)) Header(name, value)(target, key, descriptor);
  };
}
