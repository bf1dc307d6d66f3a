import { posix } from 'node:path';
import type { ContainerConfig, HealthConfig } from '@cargohold/oci';
import { type ChangeNode, parseChanges } from './change-parser.util';
import { DurationError, parseGoDuration } from './go-duration.util';
import { ImportChangeError } from './import.errors';
import { exposedPorts } from './port-spec.util';
import { envLookupFrom, goQuote, processWord, processWords, ShellWordError } from './shell-words.util';
import { isValidStopSignal } from './stop-signal.util';

/** The instructions dockerd lets `docker import` / `docker commit` apply (`validCommitCommands`). */
const CHANGE_INSTRUCTIONS = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);
const DEFAULT_SHELL = ['/bin/sh', '-c'];
const HEALTHCHECK_FLAGS = ['interval', 'timeout', 'start-period', 'start-interval', 'retries'];
const MIN_INTERVAL_NS = 1e6;

/** A change after instruction-level checks, ready to apply. */
type Change =
  | { kind: 'env' | 'label'; pairs: Array<{ key: string; value: string }> }
  | { kind: 'cmd' | 'entrypoint'; cmdLine: string[] | null; prependShell: boolean }
  | { kind: 'healthcheck'; health: HealthConfig }
  | { kind: 'expose'; ports: string[] }
  | { kind: 'user' | 'workdir' | 'stopsignal'; value: string }
  | { kind: 'volume'; volumes: string[] }
  | { kind: 'onbuild'; expression: string };

function fail(message: string): never {
  throw new ImportChangeError(message);
}

/** Checks `--name=value` flags against the instruction's known ones (BuildKit's `BFlags.Parse`). */
function parseFlags(flags: readonly string[], known: readonly string[] = []): Map<string, string> {
  const values = new Map<string, string>();
  for (const flag of flags) {
    if (flag === '--') break;
    if (!flag.startsWith('--')) fail(`arg should start with -- : ${flag}`);
    const eq = flag.indexOf('=');
    const name = eq < 0 ? flag : flag.slice(0, eq);
    const key = name.slice(2);
    if (!known.includes(key)) fail(`unknown flag: ${name}`);
    if (values.has(key)) fail(`duplicate flag specified: ${name}`);
    if (eq < 0) fail(`missing a value on flag: ${name}`);
    values.set(key, flag.slice(eq + 1));
  }
  return values;
}

function keyValuePairs(args: readonly string[], name: string): Array<{ key: string; value: string }> {
  if (args.length === 0) fail(`${name} requires at least one argument`);
  if (args.length % 3 !== 0) fail(`Bad input to ${name}, too many arguments`);
  const pairs: Array<{ key: string; value: string }> = [];
  for (let i = 0; i < args.length; i += 3) {
    if (args[i] === '') fail(`${name} names can not be blank`);
    pairs.push({ key: args[i], value: args[i + 1] });
  }
  return pairs;
}

function exactlyOne(node: ChangeNode, name: string): string {
  if (node.args.length !== 1) fail(`${name} requires exactly one argument`);
  return node.args[0];
}

/** Shell form joins its words into one string; exec form keeps the JSON array. */
function commandLine(node: ChangeNode, args: readonly string[]): string[] {
  if (args.length === 0) return [];
  return node.json ? [...args] : [args.join(' ')];
}

/** A HEALTHCHECK duration flag in nanoseconds; 0 when unset. */
function interval(flags: Map<string, string>, name: string): number {
  const raw = flags.get(name) ?? '';
  if (raw === '') return 0;
  let ns: number;
  try {
    ns = parseGoDuration(raw);
  } catch (err) {
    if (err instanceof DurationError) fail(err.message);
    throw err;
  }
  if (ns === 0) return 0;
  if (ns < MIN_INTERVAL_NS) fail(`Interval ${goQuote(name)} cannot be less than 1ms`);
  return ns;
}

function retries(flags: Map<string, string>): number {
  const raw = flags.get('retries') ?? '';
  if (raw === '') return 0;
  if (!/^[+-]?[0-9]+$/.test(raw)) fail(`strconv.ParseInt: parsing ${goQuote(raw)}: invalid syntax`);
  const value = Number(raw);
  if (value < -(2 ** 31) || value > 2 ** 31 - 1) fail(`strconv.ParseInt: parsing ${goQuote(raw)}: value out of range`);
  if (value < 0) fail(`--retries cannot be negative (${value})`);
  return value;
}

function healthcheck(node: ChangeNode): HealthConfig {
  if (node.args.length === 0) fail('HEALTHCHECK requires at least one argument');
  let type = node.args[0].toUpperCase();
  const rest = node.args.slice(1);
  if (type === 'NONE') {
    if (rest.length !== 0) fail('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  const flags = parseFlags(node.flags, HEALTHCHECK_FLAGS);
  if (type !== 'CMD') fail(`Unknown type ${goQuote(type)} in HEALTHCHECK (try CMD)`);
  const cmd = commandLine(node, rest);
  if (cmd.length === 0) fail('Missing command after HEALTHCHECK CMD');
  if (!node.json) type = 'CMD-SHELL';
  const health: HealthConfig = { Test: [type, ...cmd] };
  // Zero values are left out, as Go's `omitempty` does.
  const durations: Array<['Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval', string]> = [
    ['Interval', 'interval'],
    ['Timeout', 'timeout'],
    ['StartPeriod', 'start-period'],
    ['StartInterval', 'start-interval'],
  ];
  for (const [field, flag] of durations) {
    const ns = interval(flags, flag);
    if (ns !== 0) health[field] = ns;
  }
  const count = retries(flags);
  if (count !== 0) health.Retries = count;
  return health;
}

function onbuild(node: ChangeNode): string {
  if (node.args.length === 0) fail('ONBUILD requires at least one argument');
  parseFlags(node.flags);
  const trigger = node.args[0].trim().toUpperCase();
  if (trigger === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'MAINTAINER' || trigger === 'FROM') fail(`${trigger} isn't allowed as an ONBUILD trigger`);
  return node.original.replace(/^\s*ONBUILD\s*/i, '');
}

/** The instruction-level checks of BuildKit's `instructions.ParseCommand`, per allowed instruction. */
function toChange(node: ChangeNode): Change {
  const name = node.instruction.toLowerCase();
  switch (name) {
    case 'env':
    case 'label':
      parseFlags(node.flags);
      return { kind: name, pairs: keyValuePairs(node.args, name.toUpperCase()) };
    case 'cmd':
      parseFlags(node.flags);
      return { kind: 'cmd', cmdLine: commandLine(node, node.args), prependShell: !node.json };
    case 'entrypoint': {
      parseFlags(node.flags);
      const cmdLine = commandLine(node, node.args);
      return { kind: 'entrypoint', cmdLine: cmdLine.length ? cmdLine : null, prependShell: !node.json };
    }
    case 'healthcheck':
      return { kind: 'healthcheck', health: healthcheck(node) };
    case 'expose':
      if (node.args.length === 0) fail('EXPOSE requires at least one argument');
      parseFlags(node.flags);
      return { kind: 'expose', ports: [...node.args].sort() };
    case 'user':
    case 'workdir': {
      const value = exactlyOne(node, name.toUpperCase());
      parseFlags(node.flags);
      return { kind: name, value };
    }
    case 'stopsignal':
      return { kind: 'stopsignal', value: exactlyOne(node, 'STOPSIGNAL') };
    case 'volume': {
      if (node.args.length === 0) fail('VOLUME requires at least one argument');
      parseFlags(node.flags);
      const volumes = node.args.map((v) => v.trim());
      if (volumes.includes('')) fail('VOLUME specified can not be an empty string');
      return { kind: 'volume', volumes };
    }
    case 'onbuild':
      return { kind: 'onbuild', expression: onbuild(node) };
    default:
      return fail(`${node.instruction} is not a valid change command`);
  }
}

/** `filepath.Clean`: no trailing slash except for the root. */
function cleanPath(p: string): string {
  const normalized = posix.normalize(p);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** WORKDIR: a relative path continues from the previous working directory. */
function normalizeWorkdir(current: string, requested: string): string {
  if (requested === '') fail('cannot normalize nothing');
  if (!requested.startsWith('/')) return cleanPath(posix.join('/', current, requested));
  return cleanPath(requested);
}

interface DispatchState {
  config: ContainerConfig;
  /** A CMD with arguments was applied earlier in these changes (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  escapeToken: string;
}

function resolveCmdLine(change: { cmdLine: string[] | null; prependShell: boolean }, config: ContainerConfig): string[] | null {
  if (change.cmdLine === null || !change.prependShell) return change.cmdLine;
  const shell = config.Shell?.length ? config.Shell : DEFAULT_SHELL;
  return [...shell, ...change.cmdLine];
}

function setEnv(config: ContainerConfig, key: string, value: string): void {
  const env = config.Env ?? [];
  const entry = `${key}=${value}`;
  const at = env.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (at >= 0) env[at] = entry;
  else env.push(entry);
  config.Env = env;
}

/** Applies one change, expanding `$VAR`s against the environment as it was before it. */
function dispatch(state: DispatchState, change: Change): void {
  const { config } = state;
  const env = envLookupFrom(config.Env ?? []);
  const expand = (word: string): string => processWord(word, env, state.escapeToken);
  switch (change.kind) {
    case 'env':
      for (const { key, value } of change.pairs.map((p) => ({ key: expand(p.key), value: expand(p.value) }))) setEnv(config, key, value);
      return;
    case 'label': {
      const labels = config.Labels ?? {};
      for (const pair of change.pairs) labels[expand(pair.key)] = expand(pair.value);
      config.Labels = labels;
      return;
    }
    case 'onbuild':
      config.OnBuild = [...(config.OnBuild ?? []), change.expression];
      return;
    case 'workdir':
      config.WorkingDir = normalizeWorkdir(config.WorkingDir ?? '', expand(change.value));
      return;
    case 'cmd':
      config.Cmd = resolveCmdLine(change, config);
      delete config.ArgsEscaped;
      if (change.cmdLine?.length) state.cmdSet = true;
      return;
    case 'entrypoint': {
      const entrypoint = resolveCmdLine(change, config);
      if (entrypoint === null) delete config.Entrypoint;
      else config.Entrypoint = entrypoint;
      delete config.ArgsEscaped;
      // A new ENTRYPOINT drops the inherited CMD, unless these changes set one.
      if (!state.cmdSet) delete config.Cmd;
      return;
    }
    case 'healthcheck':
      config.Healthcheck = change.health;
      return;
    case 'expose': {
      // EXPOSE alone splits words after expansion: `EXPOSE $PORTS` with PORTS="80 443" is two ports.
      const words = change.ports.flatMap((p) => processWords(p, env, state.escapeToken));
      const ports = config.ExposedPorts ?? {};
      for (const port of words.flatMap(exposedPorts)) ports[port] = {};
      config.ExposedPorts = ports;
      return;
    }
    case 'user':
      config.User = expand(change.value);
      return;
    case 'volume': {
      const volumes = config.Volumes ?? {};
      for (const raw of change.volumes) {
        const volume = expand(raw);
        if (volume === '') fail('VOLUME specified can not be an empty string');
        volumes[volume] = {};
      }
      config.Volumes = volumes;
      return;
    }
    case 'stopsignal': {
      const signal = expand(change.value);
      if (!isValidStopSignal(signal)) fail(`invalid signal: ${signal}`);
      config.StopSignal = signal;
      return;
    }
  }
}

/**
 * Applies `docker import --change` / `docker commit --change` instructions to a container config
 * as dockerd does (`dockerfile.BuildFromConfig`): the changes are parsed together as Dockerfile
 * lines; only CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER,
 * VOLUME and WORKDIR are allowed. Returns a new config; throws ImportChangeError with dockerd's
 * text for anything it would refuse.
 */
export function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  if (changes.length === 0) return structuredClone(config);
  try {
    const parsed = parseChanges(changes.join('\n'));
    // Every instruction is checked before any is applied, as dockerd does.
    const planned = parsed.nodes.map((node) => {
      if (!CHANGE_INSTRUCTIONS.has(node.instruction.toLowerCase())) fail(`${node.instruction} is not a valid change command`);
      return toChange(node);
    });
    const state: DispatchState = { config: structuredClone(config), cmdSet: false, escapeToken: parsed.escapeToken };
    for (const change of planned) dispatch(state, change);
    return state.config;
  } catch (err) {
    if (err instanceof ShellWordError) throw new ImportChangeError(err.message);
    throw err;
  }
}
