import { Injectable } from '@nestjs/common';
import { DataSource, LessThanOrEqual, QueryFailedError, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { ContainerEntity, ImageEntity } from '@cargohold/db';
import { formatPlatform, parsePlatform, platformMatches, type Platform } from '@cargohold/oci';
import { CONTAINER_NAME_MAX, generateContainerId, generateContainerName, shortContainerId, validateContainerName } from './container-names.util';
import type { ContainerCreateResponse, ContainerInspect, ContainerPruneReport, ContainerSummary } from './container.types';
import { filterBool, matchLabels, matchNoLabels, parseDockerFilters, pruneUntil, type DockerFilters } from './docker-filters.util';
import { goRegexpMatch } from './go-regexp.util';
import { ImageCatalogService } from './image-catalog.service';
import { ImageReferencesRepository } from './image-references.repository';
import { conflict, ImageStoreError, invalid, notFound } from './image-store.errors';

/** What every operation that would run a container answers (HTTP 501). */
export const CONTAINERS_DO_NOT_RUN = 'not supported: cargohold stores images and does not run containers';

/** dockerd's accepted `docker ps` filter keys. */
export const CONTAINER_LIST_FILTERS = [
  'ancestor', 'before', 'exited', 'expose', 'health', 'id', 'is-task', 'isolation', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume',
] as const;
/** dockerd's accepted `docker container prune` filter keys (daemon/prune.go). */
export const CONTAINER_PRUNE_FILTERS = ['label', 'label!', 'until'] as const;
const STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const HEALTHS = ['none', 'starting', 'healthy', 'unhealthy'];
const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface CreateContainerOptions {
  /** `?name=`; a random dockerd-style name when absent or empty. */
  name?: string;
  /** `?platform=`: the image must be of this platform. */
  platform?: string;
  /** The JSON body (container Config fields, `HostConfig`, `NetworkingConfig`). */
  body: unknown;
}

export interface ListContainersOptions {
  all?: boolean;
  limit?: number;
  size?: boolean;
  /** Raw `filters` JSON as the Docker API receives it. */
  filters?: string;
  /** The legacy `before` / `since` query parameters. */
  before?: string;
  since?: string;
}

// The Config fields merged with the image or read back; everything else is kept as sent.
const strSlice = z.union([z.string().transform((s) => [s]), z.array(z.string())]).nullish();
const configFields = {
  Image: z.string().optional(),
  Cmd: strSlice,
  Entrypoint: strSlice,
  Env: z.array(z.string()).nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
  User: z.string().optional(),
  WorkingDir: z.string().optional(),
  StopSignal: z.string().optional(),
  Hostname: z.string().optional(),
  ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
  Volumes: z.record(z.string(), z.unknown()).nullish(),
  Healthcheck: z.record(z.string(), z.unknown()).nullish(),
};
const runConfigSchema = z.looseObject(configFields);
const hostConfigSchema = z.looseObject({ AutoRemove: z.boolean().optional(), NetworkMode: z.string().optional(), Isolation: z.string().optional() });
const createBodySchema = z.looseObject({ ...configFields, HostConfig: hostConfigSchema.nullish(), NetworkingConfig: z.unknown().optional() });
/** The container Config: the fields read here, and whatever else the client sent, kept as is. */
type ContainerConfig = z.infer<z.ZodObject<typeof configFields>> & Record<string, unknown>;
type HostConfig = z.infer<typeof hostConfigSchema>;

/**
 * Containers as pins: `docker create` records a container that holds its image (so the image
 * cannot be removed without force), `docker ps -a`, `inspect` and `rm` work on the records,
 * and nothing ever runs. Names and IDs follow dockerd's rules and texts (daemon/names.go,
 * daemon/create.go, daemon/list.go).
 */
@Injectable()
export class ContainersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly catalog: ImageCatalogService,
    private readonly refs: ImageReferencesRepository,
  ) {}

  async create(options: CreateContainerOptions): Promise<ContainerCreateResponse> {
    const { config, hostConfig } = parseCreateBody(options.body);
    if (!config.Image) throw invalid('Config.Image is required: a cargohold container pins an image');
    const wanted = options.platform ? parseWantedPlatform(options.platform) : undefined;
    const explicitName = options.name ? validateContainerName(options.name) : undefined;
    try {
      return await this.dataSource.transaction(async (em) => {
        // Taken first, as image removal does: the two serialize, so an image cannot be deleted
        // between being resolved here and being pinned.
        await this.refs.bumpVersion(em);
        const image = await this.catalog.resolve(config.Image as string, em);
        const platform = imagePlatform(image);
        if (wanted && !platformMatches(wanted, platform)) {
          throw notFound(`image with reference ${config.Image} was found but its platform (${showPlatform(platform)}) does not match the specified platform (${showPlatform(wanted)})`);
        }
        const merged = mergeImageConfig(config, imageRunConfig(image));
        const id = generateContainerId();
        const name = explicitName ?? (await this.freeGeneratedName(id, em));
        if (explicitName) await this.assertNameFree(explicitName, em);
        const row: ContainerEntity = {
          id,
          name,
          image: config.Image as string,
          imageId: image.id,
          config: JSON.stringify({ ...merged, Hostname: merged.Hostname || shortContainerId(id) }),
          hostConfig: JSON.stringify(hostConfig),
          platform: formatPlatform(platform),
          createdAt: await this.nextCreationTime(em),
        };
        await em.insert(ContainerEntity, row);
        return { Id: id, Warnings: [] };
      });
    } catch (error) {
      // Another gateway took the name between the check and the insert: dockerd's 409 all the same.
      if (error instanceof QueryFailedError && explicitName) await this.assertNameFree(explicitName, this.dataSource.manager);
      throw error;
    }
  }

  /** dockerd's GetContainer: full ID, exact name (with or without `/`), then a unique ID prefix. */
  async resolve(idOrName: string, em: EntityManager = this.dataSource.manager): Promise<ContainerEntity> {
    if (!idOrName) throw invalid(`invalid name or ID supplied: ""`);
    if (/^[0-9a-f]{64}$/.test(idOrName)) {
      const byId = await em.findOneBy(ContainerEntity, { id: idOrName });
      if (byId) return byId;
    }
    const name = idOrName.startsWith('/') ? idOrName.slice(1) : idOrName;
    if (name.length <= CONTAINER_NAME_MAX) {
      const byName = await em.findOneBy(ContainerEntity, { name });
      if (byName) return byName;
    }
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const matches = await em
        .createQueryBuilder(ContainerEntity, 'c')
        .where('c.id >= :lo AND c.id < :hi', { lo: idOrName, hi: `${idOrName}g` })
        .limit(2)
        .getMany();
      if (matches.length > 1) throw invalid(`multiple IDs found with provided prefix: ${idOrName}`);
      if (matches.length === 1) return matches[0];
    }
    throw notFound(`No such container: ${idOrName}`);
  }

  async inspect(idOrName: string): Promise<ContainerInspect> {
    return toInspect(await this.resolve(idOrName));
  }

  /** `docker rm [-f] [-v]`: a pin never runs, so force and volumes change nothing. */
  async remove(idOrName: string): Promise<void> {
    const container = await this.resolve(idOrName);
    await this.deletePin(container.id);
  }

  /**
   * `docker container prune`: every container is stopped (none ever runs), so all that match
   * the filters go, as dockerd's ContainerPrune removes every non-running one: created at or
   * before `until`, and labels as daemon/prune.go's matchLabels judges them. A pin has no
   * writable layer, so nothing is reclaimed.
   */
  async prune(rawFilters?: string): Promise<ContainerPruneReport> {
    const filters = parseDockerFilters(rawFilters, CONTAINER_PRUNE_FILTERS);
    const until = pruneUntil(filters);
    const rows = await this.dataSource.getRepository(ContainerEntity).find({
      select: ['id', 'config'],
      where: until === undefined ? {} : { createdAt: LessThanOrEqual(Math.floor(until)) },
      order: { createdAt: 'DESC', id: 'DESC' },
    });
    const deleted: string[] = [];
    for (const row of rows) {
      const labels = (JSON.parse(row.config) as ContainerConfig).Labels ?? {};
      if (!pruneLabelsMatch(filters, labels)) continue;
      // One removed meanwhile (docker rm, another prune) is not reported twice, as dockerd skips a failed removal.
      if (await this.deletePin(row.id)) deleted.push(row.id);
    }
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 };
  }

  /**
   * `docker rename`, in daemon/rename.go's order and texts: empty names, the container, the same
   * name, then the new name's validity and owner. One UPDATE under the name's unique constraint,
   * so of a rename and a create (or two renames) racing for a name exactly one gets it.
   */
  async rename(idOrName: string, newName: string): Promise<void> {
    const oldGiven = idOrName.trim();
    const newGiven = newName.trim();
    if (!stripSlash(oldGiven) || !stripSlash(newGiven)) throw invalid('Neither old nor new names may be empty');
    const container = await this.resolve(oldGiven);
    const canonical = newGiven.startsWith('/') ? newGiven : `/${newGiven}`;
    if (canonical === `/${container.name}`) throw invalid('Renaming a container with the same name as its current name');
    let name: string;
    try {
      name = validateContainerName(canonical);
    } catch (error) {
      rethrowAllocating(error);
    }
    const em = this.dataSource.manager;
    let renamed: number | undefined;
    try {
      renamed = (await em.update(ContainerEntity, { id: container.id }, { name })).affected;
    } catch (error) {
      // The unique constraint refused it: a create or rename took the name first.
      if (error instanceof QueryFailedError) await this.assertNameFree(name, em).catch(rethrowAllocating);
      throw error;
    }
    if (!renamed) throw notFound(`No such container: ${oldGiven}`);
  }

  /** `docker info`'s Containers: every pin, all of them stopped. */
  async count(): Promise<number> {
    return this.dataSource.getRepository(ContainerEntity).count();
  }

  /**
   * Before refusing to start: the container must exist (404 otherwise), and, as dockerd does
   * after a failed start, an auto-remove (`docker run --rm`) container is removed.
   */
  async refuseToStart(idOrName: string): Promise<void> {
    const container = await this.resolve(idOrName);
    const hostConfig = JSON.parse(container.hostConfig) as HostConfig;
    if (hostConfig.AutoRemove === true) await this.deletePin(container.id);
  }

  /** Removes the record, which is all that pins its image; false when it was already gone. */
  private async deletePin(id: string): Promise<boolean> {
    const result = await this.dataSource.manager.delete(ContainerEntity, { id });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Creation times strictly increase (two creates in one millisecond are a millisecond apart),
   * so listings order containers by creation as dockerd does. Safe: creates are serialised by
   * the store-version bump their transaction starts with.
   */
  private async nextCreationTime(em: EntityManager): Promise<number> {
    const rows = (await em.query('SELECT MAX(created_at) AS latest FROM container')) as Array<{ latest: number | string | null }>;
    const latest = Number(rows[0]?.latest ?? 0);
    return Math.max(Date.now(), latest + 1);
  }

  async list(options: ListContainersOptions = {}): Promise<ContainerSummary[]> {
    const filters = parseDockerFilters(options.filters, CONTAINER_LIST_FILTERS);
    validateListFilters(filters);
    const all = options.all === true || filters.has('status');
    const limit = options.limit ?? -1;
    const rows = await this.dataSource.getRepository(ContainerEntity).find({ order: { createdAt: 'DESC', id: 'DESC' } });
    let before = await this.boundary(filters.get('before'), options.before, rows);
    const since = await this.boundary(filters.get('since'), options.since, rows);
    const ids = filters.get('id');
    const idMatches = ids ? new Set(ids.map((prefix) => uniquePrefixMatch(rows, prefix)).filter((id) => id !== undefined)) : undefined;
    const ancestors = filters.has('ancestor') ? await this.ancestorImages(filters.get('ancestor') ?? []) : undefined;

    const picked: ContainerEntity[] = [];
    for (const row of rows) {
      if (before) {
        if (row.id === before.id) before = undefined;
        continue;
      }
      if (since && row.id === since.id) break;
      // A pin never runs: without -a (or a limit) nothing is listed, as for stopped containers.
      if (!all && limit <= 0) continue;
      if (!matchesFilters(row, filters, idMatches, ancestors)) continue;
      if (limit > 0 && picked.length === limit) break;
      picked.push(row);
    }
    return this.summaries(picked, options.size === true);
  }

  /** The `before` / `since` container: exact ID, else exact name, else dockerd's 404. */
  private async boundary(values: string[] | undefined, legacy: string | undefined, rows: ContainerEntity[]): Promise<ContainerEntity | undefined> {
    let found: ContainerEntity | undefined;
    for (const value of values ?? []) {
      const name = value.startsWith('/') ? value.slice(1) : value;
      found = rows.find((r) => r.id === value) ?? rows.find((r) => r.name === name);
      if (!found) throw notFound(`No such container: ${value}`);
    }
    if (!found && legacy) found = await this.resolve(legacy);
    return found;
  }

  /** Every image ID an `ancestor` value names, with all images built on it (dockerd walks children). */
  private async ancestorImages(values: string[]): Promise<Set<string>> {
    const ids = new Set<string>();
    let frontier: string[] = [];
    for (const value of values) {
      try {
        const id = (await this.catalog.resolve(value)).id;
        if (!ids.has(id)) frontier.push(id);
        ids.add(id);
      } catch {
        // dockerd logs and skips an ancestor it cannot find: it then matches nothing.
      }
    }
    while (frontier.length) {
      const children: string[] = [];
      for (let i = 0; i < frontier.length; i += 500) {
        const chunk = frontier.slice(i, i + 500);
        const rows = await this.dataSource.getRepository(ImageEntity).createQueryBuilder('i').select('i.id', 'id').where('i.parent_id IN (:...chunk)', { chunk }).getRawMany<{ id: string }>();
        for (const { id } of rows) if (!ids.has(id)) children.push(id);
      }
      for (const id of children) ids.add(id);
      frontier = children;
    }
    return ids;
  }

  private async summaries(rows: ContainerEntity[], withSize: boolean): Promise<ContainerSummary[]> {
    const resolved = new Map<string, Promise<string | null>>();
    const current = (reference: string) => {
      let hit = resolved.get(reference);
      if (!hit) {
        hit = this.catalog.resolve(reference).then(
          (img) => img.id,
          () => null,
        );
        resolved.set(reference, hit);
      }
      return hit;
    };
    const sizes = withSize ? new Map((await this.refs.imagesById([...new Set(rows.map((r) => r.imageId))])).map((i) => [i.id, i.size])) : undefined;
    const out: ContainerSummary[] = [];
    for (const row of rows) {
      const config = JSON.parse(row.config) as ContainerConfig;
      const hostConfig = JSON.parse(row.hostConfig) as HostConfig;
      // dockerd's refreshImage: the name the user gave while it still names the same image.
      const image = row.image === row.imageId || (await current(row.image)) === row.imageId ? row.image : row.imageId;
      const summary: ContainerSummary = {
        Id: row.id,
        Names: [`/${row.name}`],
        Image: image,
        ImageID: row.imageId,
        Command: commandLine(config),
        Created: Math.floor(row.createdAt / 1000),
        Ports: [],
        Labels: config.Labels ?? {},
        State: 'created',
        Status: 'Created',
        HostConfig: { NetworkMode: networkMode(hostConfig) },
        NetworkSettings: { Networks: {} },
        Mounts: [],
      };
      if (sizes) Object.assign(summary, { SizeRw: 0, SizeRootFs: sizes.get(row.imageId) ?? 0 });
      out.push(summary);
    }
    return out;
  }

  private async assertNameFree(name: string, em: EntityManager): Promise<void> {
    const owner = await em.findOneBy(ContainerEntity, { name });
    if (owner) {
      throw conflict(
        `Conflict. The container name "/${name}" is already in use by container "${owner.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  /** dockerd's generateAndReserveName: six random tries, then the short ID. */
  private async freeGeneratedName(id: string, em: EntityManager): Promise<string> {
    for (let attempt = 0; attempt < 6; attempt++) {
      const name = generateContainerName(attempt);
      if (!(await em.findOneBy(ContainerEntity, { name }))) return name;
    }
    return shortContainerId(id);
  }
}

/**
 * The first container (oldest) whose image is `imageId`, for image removal's conflict rules. A
 * container's image is a GC root: see ContainerEntity.
 */
export async function firstContainerUsing(imageId: string, em: EntityManager): Promise<ContainerEntity | null> {
  return em.findOne(ContainerEntity, { where: { imageId }, order: { createdAt: 'ASC', id: 'ASC' } });
}

/**
 * daemon/prune.go's matchLabels: every `label` present, and not every `label!` present (with
 * two `label!` values a container carrying only one of them is still pruned).
 */
function pruneLabelsMatch(filters: DockerFilters, labels: Record<string, string>): boolean {
  return matchLabels(filters.get('label') ?? [], labels) && matchNoLabels(filters.get('label!') ?? [], labels);
}

/** dockerd wraps what reserveName answers for a rename, keeping its status. */
function rethrowAllocating(error: unknown): never {
  if (error instanceof ImageStoreError) throw new ImageStoreError(error.kind, `Error when allocating new name: ${error.message}`);
  throw error;
}

function stripSlash(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

const NOT_CONFIG = new Set(['HostConfig', 'NetworkingConfig']);

function parseCreateBody(body: unknown): { config: ContainerConfig; hostConfig: HostConfig } {
  // dockerd decodes Config as an embedded pointer: a body with none of its fields leaves it nil.
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).every((k) => NOT_CONFIG.has(k))) {
    throw invalid('config cannot be empty in order to create a container');
  }
  const parsed = createBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`invalid JSON: ${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  const { HostConfig: hostConfig, NetworkingConfig: _networking, ...config } = parsed.data;
  return { config: config as ContainerConfig, hostConfig: hostConfig ?? {} };
}

function parseWantedPlatform(specifier: string): Platform {
  try {
    return parsePlatform(specifier);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
}

/** containerd's FormatAll after Normalize: arm64's default variant (v8) is left out. */
function showPlatform(platform: Platform): string {
  const { variant, ...rest } = platform;
  return formatPlatform(platform.architecture === 'arm64' && variant === 'v8' ? rest : platform);
}

function imagePlatform(image: ImageEntity): Platform {
  return { os: image.os, architecture: image.architecture, ...(image.variant ? { variant: image.variant } : {}) };
}

/** The image config's `config` object (Env, Cmd, Entrypoint, …). */
function imageRunConfig(image: ImageEntity): ContainerConfig {
  const parsed = JSON.parse(image.config) as { config?: ContainerConfig | null };
  const run = runConfigSchema.safeParse(parsed.config ?? {});
  return run.success ? (run.data as ContainerConfig) : {};
}

/**
 * dockerd's merge of the image's config into the container's (daemon/commit.go `merge`): the
 * user's values win, the image fills what is missing; then a command is required.
 */
export function mergeImageConfig(user: ContainerConfig, image: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = { ...user };
  if (!out.User) out.User = image.User ?? '';
  if (!out.ExposedPorts || !Object.keys(out.ExposedPorts).length) out.ExposedPorts = image.ExposedPorts;
  else out.ExposedPorts = { ...image.ExposedPorts, ...out.ExposedPorts };
  const userEnv = out.Env ?? [];
  const keys = new Set(userEnv.map((e) => e.split('=')[0]));
  out.Env = userEnv.length ? [...userEnv, ...(image.Env ?? []).filter((e) => !keys.has(e.split('=')[0]))] : image.Env;
  out.Labels = { ...image.Labels, ...out.Labels };
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = image.Cmd;
    if (out.Entrypoint === undefined || out.Entrypoint === null) out.Entrypoint = image.Entrypoint;
  }
  if (image.Healthcheck) out.Healthcheck = out.Healthcheck ? mergeHealthcheck(out.Healthcheck, image.Healthcheck) : image.Healthcheck;
  if (!out.WorkingDir) out.WorkingDir = image.WorkingDir ?? '';
  out.Volumes = out.Volumes && Object.keys(out.Volumes).length ? { ...out.Volumes, ...image.Volumes } : image.Volumes;
  if (!out.StopSignal && image.StopSignal) out.StopSignal = image.StopSignal;
  if (out.Entrypoint?.length === 1 && out.Entrypoint[0] === '') out.Entrypoint = null;
  if (!out.Entrypoint?.length && !out.Cmd?.length) throw invalid('no command specified');
  return out;
}

function mergeHealthcheck(user: Record<string, unknown>, image: Record<string, unknown>): Record<string, unknown> {
  const out = { ...user };
  const test = out.Test;
  if (!Array.isArray(test) || !test.length) out.Test = image.Test;
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) if (!out[key]) out[key] = image[key];
  return out;
}

function validateListFilters(filters: DockerFilters): void {
  for (const value of filters.get('exited') ?? []) {
    if (!/^[+-]?\d+$/.test(value)) throw invalid(`invalid filter 'exited=${value}': strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  }
  for (const value of filters.get('status') ?? []) {
    if (!STATES.includes(value)) throw invalid(`invalid filter 'status=${value}': invalid value for state (${value}): must be one of ${STATES.join(', ')}`);
  }
  for (const value of filters.get('health') ?? []) {
    if (!HEALTHS.includes(value)) throw invalid(`invalid filter 'health=${value}': invalid value for health (${value}): must be one of ${HEALTHS.join(', ')}`);
  }
  filterBool(filters, 'is-task', false);
}

/** dockerd's `filters.Match`: absent, or some value equal to or (as a Go regexp) matching the source. */
function filterMatch(filters: DockerFilters, key: string, ...sources: string[]): boolean {
  const values = filters.get(key);
  return !values || values.some((v) => sources.some((s) => v === s || goRegexpMatch(v, s)));
}

/** includeContainerInList for a container that was created and never started. */
function matchesFilters(row: ContainerEntity, filters: DockerFilters, idMatches: Set<string> | undefined, ancestors: Set<string> | undefined): boolean {
  const config = JSON.parse(row.config) as ContainerConfig;
  const hostConfig = JSON.parse(row.hostConfig) as HostConfig;
  if (!filterMatch(filters, 'name', `/${row.name}`, row.name)) return false;
  if (idMatches && !idMatches.has(row.id)) return false;
  if (filters.has('is-task') && filterBool(filters, 'is-task', false)) return false; // never a swarm task
  if (filters.has('label') && !matchLabels(filters.get('label') ?? [], config.Labels ?? {})) return false;
  if (!filterMatch(filters, 'isolation', (hostConfig.Isolation || 'default').toLowerCase())) return false;
  if (filters.has('exited')) return false; // never started, so never exited
  if (!filterMatch(filters, 'status', 'created')) return false;
  const health = filters.get('health');
  if (health && !health.includes('none')) return false;
  // No volumes mounted, no networks joined, no ports bound: these filters match nothing.
  if (filters.has('volume') || filters.has('network') || filters.has('publish') || filters.has('expose')) return false;
  if (ancestors && !ancestors.has(row.imageId)) return false;
  return true;
}

/** dockerd's GetByPrefix for the `id` filter: the one container the prefix names, if exactly one. */
function uniquePrefixMatch(rows: ContainerEntity[], prefix: string): string | undefined {
  const matches = rows.filter((r) => r.id.startsWith(prefix));
  return matches.length === 1 ? matches[0].id : undefined;
}

/** Entrypoint and Cmd as dockerd splits them into Path and Args. */
function pathAndArgs(config: ContainerConfig): [string, string[]] {
  const entrypoint = config.Entrypoint ?? [];
  const cmd = config.Cmd ?? [];
  if (!entrypoint.length) return [cmd[0] ?? '', cmd.slice(1)];
  return [entrypoint[0], [...entrypoint.slice(1), ...cmd]];
}

/** `docker ps`'s COMMAND: path and args, an arg with a space in single quotes (daemon/list.go). */
function commandLine(config: ContainerConfig): string {
  const [path, args] = pathAndArgs(config);
  return args.length ? `${path} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}` : path;
}

/** `default` (or none) is the platform's default network: `bridge` on Linux, as dockerd reports it. */
function networkMode(hostConfig: HostConfig): string {
  return !hostConfig.NetworkMode || hostConfig.NetworkMode === 'default' ? 'bridge' : hostConfig.NetworkMode;
}

function toInspect(row: ContainerEntity): ContainerInspect {
  const config = JSON.parse(row.config) as ContainerConfig;
  const hostConfig = JSON.parse(row.hostConfig) as HostConfig;
  const [path, args] = pathAndArgs(config);
  return {
    Id: row.id,
    Created: new Date(row.createdAt).toISOString(),
    Path: path,
    Args: args,
    State: {
      Status: 'created',
      Running: false,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 0,
      ExitCode: 0,
      Error: '',
      StartedAt: ZERO_TIME,
      FinishedAt: ZERO_TIME,
    },
    Image: row.imageId,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: '',
    Name: `/${row.name}`,
    RestartCount: 0,
    Driver: 'cargohold',
    Platform: row.platform.split('/')[0],
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: { ...hostConfig, NetworkMode: networkMode(hostConfig) },
    GraphDriver: { Data: null, Name: 'cargohold' },
    Mounts: [],
    Config: {
      Hostname: '',
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: null,
      Cmd: null,
      Volumes: null,
      WorkingDir: '',
      Entrypoint: null,
      OnBuild: null,
      Labels: {},
      ...config,
    },
    NetworkSettings: { Bridge: '', SandboxID: '', SandboxKey: '', Ports: {}, Networks: {} },
  };
}
