import { BadRequestException, Controller, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidReferenceError, parseReference, withDefaultTag } from '@cargohold/oci';
import { type BuildJob, JobName, type RegistryCredentialsPayload } from '@cargohold/queue-contracts';
import { BuildContextStagingService } from './build-context-staging.service';
import { DockerErrorFilter } from './docker-error.filter';
import { JobStreamService } from './job-stream.service';
import { boolParam, listParam, stringParam } from './query.util';

type Query = Record<string, unknown>;

function jsonParam<T>(value: unknown, name: string, check: (parsed: unknown) => parsed is T, fallback: T): T {
  const raw = stringParam(value);
  if (raw === undefined || raw === '') return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new BadRequestException(`invalid ${name}: not valid JSON`);
  }
  if (parsed === null) return fallback;
  if (!check(parsed)) throw new BadRequestException(`invalid ${name}: unexpected shape`);
  return parsed;
}

const isRecordOf =
  <V>(value: (v: unknown) => v is V) =>
  (parsed: unknown): parsed is Record<string, V> =>
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every(value);
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isStringArray = (parsed: unknown): parsed is string[] => Array.isArray(parsed) && parsed.every(isString);

/** `X-Registry-Config`: base64url JSON `{ "<registry host>": { username, password, … } }`; undecodable = none, as dockerd. */
export function decodeRegistryConfig(header: string | string[] | undefined): Record<string, RegistryCredentialsPayload> {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return {};
  try {
    const json = JSON.parse(Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as Record<string, Record<string, unknown>>;
    const out: Record<string, RegistryCredentialsPayload> = {};
    for (const [host, entry] of Object.entries(json ?? {})) {
      if (typeof entry !== 'object' || entry === null) continue;
      const pick = (k: string) => (typeof entry[k] === 'string' && entry[k] ? (entry[k] as string) : undefined);
      out[host] = { username: pick('username'), password: pick('password'), identitytoken: pick('identitytoken'), registrytoken: pick('registrytoken') };
    }
    return out;
  } catch {
    return {};
  }
}

/** An integer query parameter; 0 and absent both mean "not set", as the docker CLI sends them. */
function intParam(value: unknown, name: string): number | undefined {
  const raw = stringParam(value);
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new BadRequestException(`invalid ${name}: ${raw} is not an integer`);
  return Number(raw) === 0 ? undefined : Number(raw);
}

/** `--memory`, `--cpu-*`, `--cpuset-cpus`, `--shm-size`, checked with dockerd's rules and texts (verifyPlatformContainerResources). */
export function buildLimits(q: Record<string, unknown>): BuildJob['limits'] {
  const memory = intParam(q.memory, 'memory');
  let memorySwap = intParam(q.memswap, 'memswap');
  const cpuShares = intParam(q.cpushares, 'cpushares');
  const cpuPeriod = intParam(q.cpuperiod, 'cpuperiod');
  const cpuQuota = intParam(q.cpuquota, 'cpuquota');
  const shmSize = intParam(q.shmsize, 'shmsize');
  const cpusetCpus = stringParam(q.cpusetcpus) || undefined;
  if (memory !== undefined && memory < 6 * 1024 * 1024) throw new BadRequestException('Minimum memory limit allowed is 6MB');
  if (memory === undefined && memorySwap !== undefined && memorySwap > 0) throw new BadRequestException('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (memory !== undefined && memorySwap !== undefined && memorySwap > 0 && memorySwap < memory) throw new BadRequestException('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (cpuPeriod !== undefined && (cpuPeriod < 1000 || cpuPeriod > 1_000_000)) throw new BadRequestException('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (cpuQuota !== undefined && cpuQuota > 0 && cpuQuota < 1000) throw new BadRequestException('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (shmSize !== undefined && shmSize < 0) throw new BadRequestException('SHM size can not be less than 0');
  if (cpuShares !== undefined && cpuShares < 0) throw new BadRequestException(`invalid cpushares: ${cpuShares}`);
  if (cpusetCpus !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cpusetCpus)) throw new BadRequestException(`Invalid value ${cpusetCpus} for cpuset cpus`);
  // dockerd: a memory limit without a swap limit allows as much swap again.
  if (memory !== undefined && memorySwap === undefined) memorySwap = memory * 2;
  const limits = { memory, memorySwap, cpuShares, cpuPeriod, cpuQuota: cpuQuota !== undefined && cpuQuota > 0 ? cpuQuota : undefined, cpusetCpus, shmSize };
  const set = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
  return Object.keys(set).length ? set : undefined;
}

/**
 * `POST /build` (the legacy builder, what `DOCKER_BUILDKIT=0 docker build` calls): the context
 * is staged in the blob store and the build runs as a `build.v1` job on a builder; its output
 * streams back as dockerd's JSON messages. A client that disconnects cancels the build.
 */
@Controller('build')
@UseFilters(DockerErrorFilter)
export class BuildController {
  constructor(
    private readonly jobs: JobStreamService,
    private readonly contexts: BuildContextStagingService,
  ) {}

  @Post()
  async build(@Req() req: FastifyRequest, @Query() q: Query, @Res() reply: FastifyReply): Promise<void> {
    if (stringParam(q.version) === '2') throw new BadRequestException('BuildKit is not supported by cargohold: build with DOCKER_BUILDKIT=0 (the legacy builder)');
    if (stringParam(q.remote)) throw new BadRequestException('remote build contexts are not supported by cargohold: send the context with the request');
    const tags = listParam(q.t).map((t) => {
      try {
        const ref = withDefaultTag(parseReference(t));
        if (ref.digest) throw new InvalidReferenceError('refusing to create a tag with a digest reference', t);
        return `${ref.name}:${ref.tag}`;
      } catch (error) {
        if (error instanceof InvalidReferenceError) throw new BadRequestException(error.message);
        throw error;
      }
    });
    const buildArgs = jsonParam(q.buildargs, 'buildargs', isRecordOf(isStringOrNull), {});
    const sourceDateEpoch = buildArgs.SOURCE_DATE_EPOCH ? Number(buildArgs.SOURCE_DATE_EPOCH) : undefined;
    if (sourceDateEpoch !== undefined && !(Number.isSafeInteger(sourceDateEpoch) && sourceDateEpoch >= 0)) {
      throw new BadRequestException(`invalid SOURCE_DATE_EPOCH: ${buildArgs.SOURCE_DATE_EPOCH}`);
    }
    const data: BuildJob = {
      contextKey: '',
      dockerfile: stringParam(q.dockerfile) || 'Dockerfile',
      tags,
      buildArgs,
      labels: jsonParam(q.labels, 'labels', isRecordOf(isString), {}),
      target: stringParam(q.target) || undefined,
      noCache: boolParam(q.nocache),
      pull: boolParam(q.pull),
      quiet: boolParam(q.q),
      rm: boolParam(q.rm, true),
      forceRm: boolParam(q.forcerm),
      squash: boolParam(q.squash),
      platform: stringParam(q.platform) || undefined,
      cacheFrom: jsonParam(q.cachefrom, 'cachefrom', isStringArray, []),
      networkMode: stringParam(q.networkmode) || 'default',
      registryAuth: decodeRegistryConfig(req.headers['x-registry-config']),
      sourceDateEpoch,
      limits: buildLimits(q),
    };
    Object.assign(data, await this.contexts.stage(req, data.dockerfile));
    await this.jobs.run(reply, { name: JobName.Build, data }, () => undefined, { cancelOnDisconnect: true });
  }
}
