/**
 * The second parsing pass: each line-parser Node becomes a typed instruction, with the argument
 * counts, flags and messages of buildkit's instructions/parse.go. BuildKit-only features the
 * legacy builder cannot run are refused here with dockerd's message.
 */
import type { Node } from './ast';
import { LineError } from './errors';
import { InstructionFlags } from './flags';
import { goQuote, goTrimSpace, parseGoDuration, parseGoInt32, withSuggestion } from './go-compat';
import { chompHeredocContent, parseHeredocWord } from './heredoc';
import type {
  AddInstruction,
  ArgInstruction,
  CopyInstruction,
  FromInstruction,
  HealthConfig,
  HealthcheckInstruction,
  InlineSource,
  Instruction,
  KeyValue,
  OnbuildInstruction,
  RunInstruction,
} from './instructions';

const INSTRUCTION_NAMES = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
];

/** Parses an ONBUILD expression into its instruction; supplied by parse.ts to avoid an import cycle. */
export type TriggerParser = (expression: string) => Instruction;

export interface InstructionParseOptions {
  parseTrigger: TriggerParser;
  /**
   * Refuse BuildKit-only flags (RUN --mount, ADD --checksum, ...). Off while an ONBUILD trigger is
   * only being recorded: dockerd stores such a trigger and refuses it when a later build runs it.
   */
  refuseBuildkitOnly: boolean;
}

interface Request extends InstructionParseOptions {
  node: Node;
  args: string[];
  flags: InstructionFlags;
  base: { line: number; endLine: number; original: string };
}

type Handler = (req: Request) => Instruction | FromInstruction;

/** Converts one Node; throws LineError with Docker's message. */
export function parseInstruction(node: Node, options: InstructionParseOptions): Instruction | FromInstruction {
  const handler = HANDLERS[node.value.toLowerCase()];
  if (!handler) {
    throw new LineError(withSuggestion(`unknown instruction: ${node.value}`, node.value, INSTRUCTION_NAMES, false));
  }
  return handler({
    node,
    args: node.args,
    flags: new InstructionFlags(node.flags),
    base: { line: node.startLine, endLine: node.endLine, original: goTrimSpace(node.original) },
    ...options,
  });
}

const BUILDKIT_ONLY = (flag: string): string =>
  `the --${flag} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`;

/** Refuses the first BuildKit-only flag that was given (in the order given, as dockerd reports it). */
function refuseBuildkitFlags(req: Request, refused: readonly string[]): void {
  if (!req.refuseBuildkitOnly) return;
  const first = req.flags.used.find((name) => refused.includes(name));
  if (first !== undefined) throw new LineError(BUILDKIT_ONLY(first));
}

const atLeastOne = (cmd: string): LineError => new LineError(`${cmd} requires at least one argument`);
const exactlyOne = (cmd: string): LineError => new LineError(`${cmd} requires exactly one argument`);

function keyValues(args: string[], cmd: string): KeyValue[] {
  if (args.length === 0) throw atLeastOne(cmd);
  if (args.length % 3 !== 0) throw new LineError(`Bad input to ${cmd}, too many arguments`);
  const out: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    if (args[i].length === 0) throw new LineError(`${cmd} names can not be blank`);
    out.push({ key: args[i], value: args[i + 1] });
  }
  return out;
}

/** Shell form collapses to one string for the shell; exec form keeps the array. */
function commandLine(req: Request): { args: string[]; execForm: boolean } {
  if (req.args.length === 0) return { args: [], execForm: req.node.json };
  return req.node.json ? { args: [...req.args], execForm: true } : { args: [req.args.join(' ')], execForm: false };
}

function singleValue(req: Request, cmd: string, parseFlags = true): string {
  if (req.args.length !== 1) throw exactlyOne(cmd);
  if (parseFlags) req.flags.parse();
  return req.args[0];
}

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

function parseFrom(req: Request): FromInstruction {
  const { args } = req;
  let stageName: string | undefined;
  if (args.length === 3 && args[1].toLowerCase() === 'as') {
    stageName = args[2].toLowerCase();
    if (!STAGE_NAME_RE.test(stageName)) {
      throw new LineError(`invalid name for build stage: ${goQuote(args[2])}, name can't start with a number or contain symbols`);
    }
  } else if (args.length !== 1) {
    throw new LineError('FROM requires either one or three arguments');
  }
  req.flags.define('platform', 'string').parse();
  const platform = req.flags.string('platform');
  return {
    kind: 'from',
    ...req.base,
    image: args[0],
    ...(platform !== undefined ? { platform } : {}),
    ...(stageName !== undefined ? { stageName } : {}),
  };
}

function sourcesAndDest(req: Request, cmd: string): { sources: string[]; inlineSources: InlineSource[]; dest: string } {
  const dest = req.args[req.args.length - 1];
  if (parseHeredocWordQuietly(dest)) throw new LineError(`${cmd} cannot accept a heredoc as a destination`);
  const bodies = new Map(req.node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const inlineSources: InlineSource[] = [];
  for (const src of req.args.slice(0, -1)) {
    const doc = parseHeredocWordQuietly(src);
    if (!doc) {
      sources.push(src);
      continue;
    }
    const content = bodies.get(doc.name)?.content ?? '';
    inlineSources.push({ path: doc.name, data: doc.chomp ? chompHeredocContent(content) : content, expand: doc.expand });
  }
  return { sources, inlineSources, dest };
}

/** Docker's MustParseHeredoc: a word that fails to lex as a heredoc is just a path. */
function parseHeredocWordQuietly(word: string): ReturnType<typeof parseHeredocWord> {
  try {
    return parseHeredocWord(word);
  } catch {
    return undefined;
  }
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, string>);
}

function parseAdd(req: Request): AddInstruction {
  if (req.args.length < 2) throw noDestination('ADD');
  const { flags } = req;
  flags.define('chown', 'string').define('chmod', 'string').define('link', 'bool').define('keep-git-dir', 'bool');
  flags.define('checksum', 'string').define('unpack', 'bool').define('exclude', 'strings').parse();
  refuseBuildkitFlags(req, ['keep-git-dir', 'checksum', 'unpack', 'exclude']);
  return {
    kind: 'add',
    ...req.base,
    ...sourcesAndDest(req, 'ADD'),
    ...optional('chown', flags.string('chown')),
    ...optional('chmod', flags.string('chmod')),
    link: flags.bool('link'),
  };
}

function parseCopy(req: Request): CopyInstruction {
  if (req.args.length < 2) throw noDestination('COPY');
  const { flags } = req;
  flags.define('chown', 'string').define('from', 'string').define('chmod', 'string').define('link', 'bool');
  flags.define('exclude', 'strings').define('parents', 'bool').parse();
  refuseBuildkitFlags(req, ['exclude', 'parents']);
  return {
    kind: 'copy',
    ...req.base,
    ...sourcesAndDest(req, 'COPY'),
    ...optional('chown', flags.string('chown')),
    ...optional('chmod', flags.string('chmod')),
    ...optional('from', flags.string('from')),
    link: flags.bool('link'),
  };
}

function noDestination(cmd: string): LineError {
  return new LineError(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`);
}

const NETWORK_MODES = ['default', 'none', 'host'] as const;

function parseRun(req: Request): RunInstruction {
  const { flags } = req;
  flags.define('device', 'strings').define('mount', 'strings').define('network', 'string').define('security', 'string').parse();
  const network = flags.string('network');
  if (network !== undefined && !(NETWORK_MODES as readonly string[]).includes(network)) {
    throw new LineError(`invalid network mode ${goQuote(network)}`);
  }
  const security = flags.string('security');
  if (security !== undefined && security !== 'insecure' && security !== 'sandbox') {
    throw new LineError(`security ${goQuote(security)} is not valid`);
  }
  refuseBuildkitFlags(req, ['mount', 'security', 'device']);
  return {
    kind: 'run',
    ...req.base,
    ...commandLine(req),
    heredocs: req.node.heredocs,
    ...(network !== undefined ? { network: network as RunInstruction['network'] } : {}),
  };
}

function parseOnbuild(req: Request): OnbuildInstruction {
  if (req.args.length === 0) throw atLeastOne('ONBUILD');
  req.flags.parse();
  const trigger = goTrimSpace(req.args[0]).toUpperCase();
  if (trigger === 'ONBUILD') throw new LineError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new LineError(`${trigger} isn't allowed as an ONBUILD trigger`);
  let expression = req.node.original.replace(/^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i, '');
  for (const heredoc of req.node.heredocs) expression += `\n${heredoc.content}${heredoc.name}`;
  const parsed = req.parseTrigger(expression);
  return { kind: 'onbuild', ...req.base, expression, trigger: { ...parsed, line: req.base.line, endLine: req.base.endLine } };
}

/** HEALTHCHECK durations: 0 when absent or zero; otherwise at least a millisecond. */
function interval(flags: InstructionFlags, name: string): number {
  const value = flags.string(name);
  if (value === undefined || value === '') return 0;
  let ns: number;
  try {
    ns = parseGoDuration(value);
  } catch (err) {
    throw new LineError((err as Error).message);
  }
  if (ns === 0) return 0;
  if (ns < 1_000_000) throw new LineError(`Interval ${goQuote(name)} cannot be less than 1ms`);
  return ns;
}

function parseHealthcheck(req: Request): HealthcheckInstruction {
  if (req.args.length === 0) throw atLeastOne('HEALTHCHECK');
  const type = req.args[0].toUpperCase();
  const rest = req.args.slice(1);
  const health: HealthConfig = { test: [], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type === 'NONE') {
    if (rest.length !== 0) throw new LineError('HEALTHCHECK NONE takes no arguments');
    return { kind: 'healthcheck', ...req.base, health: { ...health, test: ['NONE'] } };
  }
  const { flags } = req;
  for (const name of ['interval', 'timeout', 'start-period', 'start-interval', 'retries']) flags.define(name, 'string');
  flags.parse();
  if (type !== 'CMD') throw new LineError(`Unknown type ${goQuote(type)} in HEALTHCHECK (try CMD)`);
  const command = rest.length === 0 ? [] : req.node.json ? rest : [rest.join(' ')];
  if (command.length === 0) throw new LineError('Missing command after HEALTHCHECK CMD');
  health.test = [req.node.json ? 'CMD' : 'CMD-SHELL', ...command];
  health.interval = interval(flags, 'interval');
  health.timeout = interval(flags, 'timeout');
  health.startPeriod = interval(flags, 'start-period');
  health.startInterval = interval(flags, 'start-interval');
  const retries = flags.string('retries');
  if (retries !== undefined && retries !== '') {
    try {
      health.retries = parseGoInt32(retries);
    } catch (err) {
      throw new LineError((err as Error).message);
    }
    if (health.retries < 0) throw new LineError(`--retries cannot be negative (${health.retries})`);
  }
  return { kind: 'healthcheck', ...req.base, health };
}

function parseArg(req: Request): ArgInstruction {
  if (req.args.length === 0) throw atLeastOne('ARG');
  const args = req.args.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq < 0) return { key: arg };
    if (eq === 0) throw new LineError('ARG names can not be blank');
    return { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
  });
  return { kind: 'arg', ...req.base, args };
}

const HANDLERS: Record<string, Handler> = {
  add: parseAdd,
  arg: parseArg,
  cmd: (req) => {
    req.flags.parse();
    return { kind: 'cmd', ...req.base, ...commandLine(req) };
  },
  copy: parseCopy,
  entrypoint: (req) => {
    req.flags.parse();
    return { kind: 'entrypoint', ...req.base, ...commandLine(req) };
  },
  env: (req) => {
    req.flags.parse();
    return { kind: 'env', ...req.base, env: keyValues(req.args, 'ENV') };
  },
  expose: (req) => {
    if (req.args.length === 0) throw atLeastOne('EXPOSE');
    req.flags.parse();
    // Docker sorts the raw words (byte order) before expanding them.
    return { kind: 'expose', ...req.base, ports: [...req.args].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
  },
  from: parseFrom,
  healthcheck: parseHealthcheck,
  label: (req) => {
    req.flags.parse();
    return { kind: 'label', ...req.base, labels: keyValues(req.args, 'LABEL') };
  },
  maintainer: (req) => ({ kind: 'maintainer', ...req.base, maintainer: singleValue(req, 'MAINTAINER') }),
  onbuild: parseOnbuild,
  run: parseRun,
  shell: (req) => {
    req.flags.parse();
    if (req.args.length === 0) throw atLeastOne('SHELL');
    if (!req.node.json) throw new LineError('SHELL requires the arguments to be in JSON form');
    return { kind: 'shell', ...req.base, shell: [...req.args] };
  },
  // Docker never validates STOPSIGNAL's flags.
  stopsignal: (req) => ({ kind: 'stopsignal', ...req.base, signal: singleValue(req, 'STOPSIGNAL', false) }),
  user: (req) => ({ kind: 'user', ...req.base, user: singleValue(req, 'USER') }),
  volume: (req) => {
    if (req.args.length === 0) throw atLeastOne('VOLUME');
    req.flags.parse();
    const volumes = req.args.map((v) => goTrimSpace(v));
    if (volumes.some((v) => v === '')) throw new LineError('VOLUME specified can not be an empty string');
    return { kind: 'volume', ...req.base, volumes };
  },
  workdir: (req) => ({ kind: 'workdir', ...req.base, path: singleValue(req, 'WORKDIR') }),
};
