/** `POST /containers/create` answer. */
export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

/** `POST /containers/prune` answer (api/types/container PruneReport): null when nothing was deleted. */
export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** `GET /containers/json` item: the fields `docker ps` reads (api/types/container Summary). */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: unknown[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string>;
  State: 'created';
  Status: 'Created';
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, unknown> };
  Mounts: unknown[];
}

/** `GET /containers/{id}/json` (api/types/container InspectResponse, the parts a pin has). */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: 'created';
    Running: false;
    Paused: false;
    Restarting: false;
    OOMKilled: false;
    Dead: false;
    Pid: 0;
    ExitCode: 0;
    Error: '';
    StartedAt: string;
    FinishedAt: string;
  };
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: null;
  HostConfig: Record<string, unknown>;
  GraphDriver: { Data: null; Name: string };
  Mounts: unknown[];
  Config: Record<string, unknown>;
  NetworkSettings: Record<string, unknown>;
}
