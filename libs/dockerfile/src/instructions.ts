/**
 * The typed Dockerfile model. Values are kept as written (quotes, `$VAR` references) wherever
 * Docker expands them later at build time; expandInstruction (expand.ts) applies that expansion.
 */
import type { Directives } from './ast';
import type { Heredoc } from './heredoc';

export type { Heredoc } from './heredoc';

interface Located {
  /** 1-based line the instruction starts on. */
  line: number;
  /** 1-based last line (continuations and heredoc bodies included). */
  endLine: number;
  /** The instruction as `docker build` prints it after `Step N/M : ` (continuations joined, trimmed). */
  original: string;
}

/** A key/value of ENV or LABEL, unexpanded: quotes and `$VAR` references are still in the text. */
export interface KeyValue {
  key: string;
  value: string;
}

/** RUN/CMD/ENTRYPOINT arguments: exec form (JSON array) or shell form (one string for the shell). */
export interface CommandLine {
  /** Exec form: the array as given. Shell form: a single string (none when the instruction is empty). */
  args: string[];
  /** True for the JSON/exec form; false means the builder prepends the SHELL (default `/bin/sh -c`). */
  execForm: boolean;
}

export interface FromInstruction extends Located {
  kind: 'from';
  /** The image (or earlier stage name) as written; expand with global ARGs (see planBuild). */
  image: string;
  /** `--platform` as written, unexpanded. */
  platform?: string;
  /** `AS name`, lowercased. */
  stageName?: string;
}

export interface RunInstruction extends Located, CommandLine {
  kind: 'run';
  /** Heredocs opened on the RUN line, in order (bodies raw; see resolveRunCommand). */
  heredocs: Heredoc[];
  /** `--network=default|none|host`, when given. */
  network?: 'default' | 'none' | 'host';
}

export interface CmdInstruction extends Located, CommandLine {
  kind: 'cmd';
}

export interface EntrypointInstruction extends Located, CommandLine {
  kind: 'entrypoint';
}

export interface ShellInstruction extends Located {
  kind: 'shell';
  shell: string[];
}

export interface LabelInstruction extends Located {
  kind: 'label';
  labels: KeyValue[];
}

export interface MaintainerInstruction extends Located {
  kind: 'maintainer';
  maintainer: string;
}

export interface ExposeInstruction extends Located {
  kind: 'expose';
  /** Raw words, sorted as Docker sorts them; each may expand to several ports (expandWords). */
  ports: string[];
}

export interface EnvInstruction extends Located {
  kind: 'env';
  env: KeyValue[];
}

/** A COPY/ADD source given inline as a heredoc. */
export interface InlineSource {
  /** File name in the destination (the heredoc delimiter). */
  path: string;
  /** Body, tab-stripped already for `<<-`. */
  data: string;
  /** Substitute variables in the body (unquoted delimiter); see expandHeredocContent. */
  expand: boolean;
}

interface CopyLike extends Located {
  /** Source paths/URLs as written. */
  sources: string[];
  inlineSources: InlineSource[];
  dest: string;
  chown?: string;
  chmod?: string;
  /** `--link` (accepted; the legacy builder has no different behaviour for it). */
  link: boolean;
}

export interface AddInstruction extends CopyLike {
  kind: 'add';
}

export interface CopyInstruction extends CopyLike {
  kind: 'copy';
  /** `--from` as written: a stage name, a stage index, or an image reference. Not expanded. */
  from?: string;
}

export interface VolumeInstruction extends Located {
  kind: 'volume';
  volumes: string[];
}

export interface UserInstruction extends Located {
  kind: 'user';
  user: string;
}

export interface WorkdirInstruction extends Located {
  kind: 'workdir';
  path: string;
}

export interface ArgDefinition {
  key: string;
  /** The default as written (unexpanded); undefined for a bare `ARG name`. */
  value?: string;
}

export interface ArgInstruction extends Located {
  kind: 'arg';
  args: ArgDefinition[];
}

export interface OnbuildInstruction extends Located {
  kind: 'onbuild';
  /** The trigger text stored in the image config's OnBuild (heredoc bodies appended, as Docker does). */
  expression: string;
  /** The trigger parsed (what a later build will run). */
  trigger: Instruction;
}

export interface StopsignalInstruction extends Located {
  kind: 'stopsignal';
  signal: string;
}

/** Docker's HealthConfig; durations in nanoseconds, 0 meaning "use the default". */
export interface HealthConfig {
  /** `["NONE"]`, `["CMD", ...args]` or `["CMD-SHELL", command]`. */
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export interface HealthcheckInstruction extends Located {
  kind: 'healthcheck';
  health: HealthConfig;
}

/** Every instruction that can appear inside a stage (FROM starts a stage and is not one of them). */
export type Instruction =
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction;

export type InstructionKind = Instruction['kind'] | 'from';

export interface Stage {
  /** Position among the stages, from 0 (what `COPY --from=0` refers to). */
  index: number;
  /** `AS name`, lowercased. */
  name?: string;
  from: FromInstruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Directives;
  /** ARGs before the first FROM (usable in FROM lines; re-declare inside a stage to use there). */
  globalArgs: ArgInstruction[];
  stages: Stage[];
  /**
   * Parser warnings as `docker build` prints them on stderr before building, e.g.
   * `[WARNING]: Empty continuation line found in: RUN a     b`.
   */
  warnings: string[];
}

export type { Directives } from './ast';
