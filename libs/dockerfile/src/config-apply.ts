/**
 * How instructions change an image's container config, as dockerd's dispatchers do it
 * (moby builder/dockerfile, Linux): shared by the builder and by `docker import` / `docker commit`
 * `--change` (dockerd's BuildFromConfig). Instructions reach applyToConfig already expanded
 * (expandInstruction, with configEnvLookup over the config's Env for changes).
 */
import type { ContainerConfig } from '@cargohold/oci';
import type { Node } from './ast';
import { atLine, parseAst } from './ast';
import { exposedPorts, isValidStopSignal } from './config-values';
import { DockerfileSyntaxError, LineError } from './errors';
import { goPathClean } from './go-compat';
import type { FromInstruction, Instruction, WorkdirInstruction } from './instructions';
import { parseInstruction } from './instructions-parse';
import type { VariableLookup } from './shell-lex';

/** What shell-form CMD/ENTRYPOINT/RUN run under when the config names no SHELL (Linux). */
export const DEFAULT_SHELL: readonly string[] = Object.freeze(['/bin/sh', '-c']);

/** Instructions that only change the image config (no filesystem change). */
export type MetadataInstruction = Extract<
  Instruction,
  { kind: 'env' | 'label' | 'cmd' | 'entrypoint' | 'expose' | 'volume' | 'user' | 'onbuild' | 'stopsignal' | 'healthcheck' | 'shell' | 'maintainer' | 'arg' }
>;

const METADATA_KINDS: ReadonlySet<string> = new Set(['env', 'label', 'cmd', 'entrypoint', 'expose', 'volume', 'user', 'onbuild', 'stopsignal', 'healthcheck', 'shell', 'maintainer', 'arg']);

export function isMetadataInstruction(inst: Instruction): inst is MetadataInstruction {
  return METADATA_KINDS.has(inst.kind);
}

/** What applyToConfig takes: metadata instructions, and WORKDIR (whose directory a build also creates). */
export type ConfigInstruction = MetadataInstruction | WorkdirInstruction;

/** The instructions dockerd lets `--change` apply (its validCommitCommands). */
export type ChangeInstruction = Extract<
  Instruction,
  { kind: 'cmd' | 'entrypoint' | 'healthcheck' | 'env' | 'expose' | 'label' | 'onbuild' | 'stopsignal' | 'user' | 'volume' | 'workdir' }
>;

const CHANGE_KINDS: ReadonlySet<string> = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

/** A value dockerd refuses when it reaches the config (bad port, signal, empty VOLUME, ...); the message is dockerd's. */
export class ConfigApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigApplyError';
  }
}

/** The builder's earlier name for ConfigApplyError. */
export { ConfigApplyError as ConfigDispatchError };

/** What one stage (or one set of changes) remembers between instructions besides the config. */
export interface DispatchState {
  /** A CMD with arguments was applied (an ENTRYPOINT then keeps it; otherwise it drops the inherited one). */
  cmdSet: boolean;
}

/** Variables from a config's `KEY=value` Env, as buildkit's EnvsFromSlice: a later entry wins, a bare `KEY` is set and empty. */
export function configEnvLookup(env: readonly string[] | null | undefined): VariableLookup {
  const values = new Map<string, string>();
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    values.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
  }
  return (name) => values.get(name);
}

/**
 * WORKDIR as dockerd's normalizeWorkdir: a relative path continues from the current directory;
 * the result is cleaned (no `.`/`..`, no trailing slash). An empty path (after expansion) is refused.
 */
export function resolveWorkdir(current: string, requested: string): string {
  if (requested === '') throw new ConfigApplyError('cannot normalize nothing');
  return goPathClean(requested.startsWith('/') ? requested : `/${current}/${requested}`);
}

/**
 * dockerd's resolveCmdLine: the exec form as given; the shell form behind the config's SHELL.
 * A bare `CMD` is the shell alone (buildkit gives it an empty, non-nil command line).
 */
function commandLine(inst: { args: string[]; execForm: boolean }, config: ContainerConfig): string[] {
  if (inst.execForm) return [...inst.args];
  return [...(config.Shell?.length ? config.Shell : DEFAULT_SHELL), ...inst.args];
}

function setEnv(config: ContainerConfig, key: string, value: string): void {
  const env = [...(config.Env ?? [])];
  const entry = `${key}=${value}`;
  const at = env.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (at >= 0) env[at] = entry;
  else env.push(entry);
  config.Env = env;
}

function addExposedPorts(config: ContainerConfig, words: readonly string[]): void {
  const ports = { ...(config.ExposedPorts ?? {}) };
  for (const word of words) {
    let specs: string[];
    try {
      specs = exposedPorts(word);
    } catch (err) {
      throw new ConfigApplyError((err as Error).message);
    }
    for (const port of specs) ports[port] = {};
  }
  config.ExposedPorts = ports;
}

function addVolumes(config: ContainerConfig, volumes: readonly string[]): void {
  const next = { ...(config.Volumes ?? {}) };
  for (const volume of volumes) {
    // Only an expansion can empty a volume here; the parser already refused blank ones.
    if (volume === '') throw new ConfigApplyError('VOLUME specified can not be an empty string');
    next[volume] = {};
  }
  config.Volumes = next;
}

/** The stored HEALTHCHECK: zero durations and retries are left out, as Go's `omitempty` does. */
function healthcheck(inst: Extract<Instruction, { kind: 'healthcheck' }>): NonNullable<ContainerConfig['Healthcheck']> {
  const h = inst.health;
  return {
    Test: h.test,
    ...(h.interval ? { Interval: h.interval } : {}),
    ...(h.timeout ? { Timeout: h.timeout } : {}),
    ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
    ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
  };
}

/**
 * Applies one (expanded) instruction to a config as dockerd's dispatchers do; returns a new
 * config and never changes the one given. CMD/ENTRYPOINT clear ArgsEscaped; an ENTRYPOINT drops
 * the inherited CMD unless a CMD with arguments was set before it (`state.cmdSet`); an empty
 * ENTRYPOINT removes it. WORKDIR only sets WorkingDir (a build also creates the directory).
 * MAINTAINER's author lives outside `config` and is returned separately. Throws ConfigApplyError.
 */
export function applyToConfig(config: ContainerConfig, inst: ConfigInstruction, state: DispatchState): { config: ContainerConfig; author?: string } {
  const next = structuredClone(config);
  switch (inst.kind) {
    case 'env':
      for (const { key, value } of inst.env) setEnv(next, key, value);
      break;
    case 'label':
      next.Labels = { ...(next.Labels ?? {}) };
      for (const { key, value } of inst.labels) next.Labels[key] = value;
      break;
    case 'cmd':
      next.Cmd = commandLine(inst, next);
      delete next.ArgsEscaped;
      if (inst.args.length > 0) state.cmdSet = true;
      break;
    case 'entrypoint':
      // buildkit reads an empty ENTRYPOINT (either form) as none at all.
      if (inst.args.length === 0) delete next.Entrypoint;
      else next.Entrypoint = commandLine(inst, next);
      delete next.ArgsEscaped;
      if (!state.cmdSet) delete next.Cmd;
      break;
    case 'expose':
      addExposedPorts(next, inst.ports);
      break;
    case 'volume':
      addVolumes(next, inst.volumes);
      break;
    case 'user':
      next.User = inst.user;
      break;
    case 'workdir':
      next.WorkingDir = resolveWorkdir(next.WorkingDir ?? '', inst.path);
      break;
    case 'onbuild':
      next.OnBuild = [...(next.OnBuild ?? []), inst.expression];
      break;
    case 'stopsignal':
      if (!isValidStopSignal(inst.signal)) throw new ConfigApplyError(`invalid signal: ${inst.signal}`);
      next.StopSignal = inst.signal;
      break;
    case 'healthcheck':
      next.Healthcheck = healthcheck(inst);
      break;
    case 'shell':
      next.Shell = [...inst.shell];
      break;
    case 'maintainer':
      return { config: next, author: inst.maintainer };
    case 'arg':
      break;
  }
  return { config: next };
}

/** Config changes parsed: the instructions (unexpanded) and the escape character they were written with. */
export interface ConfigChanges {
  instructions: ChangeInstruction[];
  escape: string;
}

/**
 * Parses `docker import --change` / `docker commit --change` values as dockerd's BuildFromConfig
 * (Docker 27): joined with newlines they are one Dockerfile without FROM, so parser directives,
 * comments and continuations apply. The whole text is parsed first, then every instruction's name
 * is checked (`RUN is not a valid change command`, a ConfigApplyError), then each instruction.
 * Parse errors are DockerfileSyntaxError; dockerd reports their `detail`, without a line number.
 * No changes parse to no instructions (dockerd does not parse then).
 */
export function parseConfigChanges(changes: readonly string[]): ConfigChanges {
  if (changes.length === 0) return { instructions: [], escape: '\\' };
  const { escape, instructions } = parseLines(changes.join('\n'), true, (nodes) => {
    const refused = nodes.find((node) => !CHANGE_KINDS.has(node.value.toLowerCase()));
    if (refused) throw new ConfigApplyError(`${refused.value} is not a valid change command`);
  });
  return { escape, instructions: instructions.filter(isChangeInstruction) };
}

function isChangeInstruction(inst: Instruction | FromInstruction): inst is ChangeInstruction {
  return CHANGE_KINDS.has(inst.kind);
}

/** Line pass over the whole text, `checkNodes`, then the instruction pass, each error at its line. */
function parseLines(
  text: string,
  refuseBuildkitOnly: boolean,
  checkNodes: (nodes: readonly Node[]) => void,
): { escape: string; instructions: Array<Instruction | FromInstruction> } {
  const { nodes, directives } = parseAst(text);
  checkNodes(nodes);
  const options = { parseTrigger: recordTrigger, refuseBuildkitOnly };
  return { escape: directives.escape, instructions: nodes.map((node) => atLine(node.startLine, () => parseInstruction(node, options))) };
}

/**
 * An ONBUILD change records its trigger as a Dockerfile's ONBUILD does: parsed on its own with the
 * default escape, BuildKit-only flags left for the build that runs it to refuse.
 */
function recordTrigger(expression: string): Instruction {
  let parsed: Array<Instruction | FromInstruction>;
  try {
    parsed = parseLines(expression, false, (nodes) => {
      if (nodes.length !== 1) throw new LineError('onbuild trigger should be a single expression');
    }).instructions;
  } catch (err) {
    if (err instanceof DockerfileSyntaxError) throw new LineError(err.detail);
    throw err;
  }
  const trigger = parsed[0];
  if (trigger.kind === 'from') throw new LineError("FROM isn't allowed as an ONBUILD trigger");
  return trigger;
}
