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
    };
    Object.assign(data, await this.contexts.stage(req, data.dockerfile));
    await this.jobs.run(reply, { name: JobName.Build, data }, () => undefined, { cancelOnDisconnect: true });
  }
}
