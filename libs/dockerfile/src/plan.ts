/**
 * Build planning: the target stage, the stages it needs (through FROM <stage> and COPY --from),
 * global ARG values for FROM lines, and build args nobody declared.
 */
import { BuildPlanError, ExpansionError } from './errors';
import type { ArgInstruction, CopyInstruction, Dockerfile, Stage } from './instructions';
import type { VariableLookup } from './shell-lex';
import { expandWord } from './shell-lex';

/** Proxy variables dockerd accepts as build args without an ARG (never reported as unused). */
export const BUILTIN_BUILD_ARGS: ReadonlySet<string> = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);

export interface BuildPlanOptions {
  /** Stage name to stop at (`--target`), case-insensitive; default: the last stage. */
  target?: string;
  /** `--build-arg` values; undefined means given without a value (then ignored, but still "given"). */
  buildArgs: Record<string, string | undefined>;
}

/** Where COPY --from reads from. */
export type CopySource = { stage: number } | { image: string };

export interface PlannedStage {
  stage: Stage;
  /** The FROM reference after global-ARG expansion (an image reference, `scratch`, or a stage name). */
  baseImage: string;
  /** Index of the earlier stage FROM names, when it names one (then build on that stage's result). */
  baseStage?: number;
  /** `--platform` after global-ARG expansion. */
  platform?: string;
  /** Where each COPY --from of this stage reads from, keyed by the instruction's line. */
  copySources: Map<number, CopySource>;
  /** Stage indexes this stage needs built first (FROM and COPY --from), ascending. */
  dependsOn: number[];
  /** The legacy builder's step number of this stage's FROM (`Step N/M`). */
  firstStep: number;
}

export interface BuildPlan {
  /** The stages to build, in build order (ascending index); the last one is the target. */
  stages: PlannedStage[];
  target: PlannedStage;
  /** Global (pre-FROM) ARG values: the build arg when given, else the expanded default; unset ones absent. */
  globalArgs: Record<string, string>;
  /** The build args as given (for resolveArgValue). */
  buildArgs: Record<string, string | undefined>;
  /** Build args no ARG of the built stages (or global ARG) declares, sorted; proxy builtins excluded. */
  unusedBuildArgs: string[];
  /** Lines dockerd prints, e.g. `[Warning] One or more build-args [FOO] were not consumed`. */
  warnings: string[];
  /** M in `Step N/M`: global ARGs + FROMs + instructions of the planned stages. */
  totalSteps: number;
}

/**
 * Plans a build. Throws BuildPlanError for an unknown target (`failed to reach build target X in
 * Dockerfile`), duplicate stage names, COPY --from naming this or a later stage, a FROM that
 * expands to nothing, or an expansion error in a FROM line.
 */
export function planBuild(df: Dockerfile, options: BuildPlanOptions): BuildPlan {
  if (df.stages.length === 0) throw new BuildPlanError('No image was generated. Is your Dockerfile empty?');
  const targetIndex = findTarget(df, options.target);
  checkDuplicateNames(df.stages.slice(0, targetIndex + 1));
  const globals = resolveGlobalArgs(df.globalArgs, options.buildArgs, df.directives.escape);
  const partial = new Map<number, Omit<PlannedStage, 'firstStep'>>();
  const visit = (index: number): void => {
    if (partial.has(index)) return;
    const planned = planStage(df, df.stages[index], globals.lookup);
    partial.set(index, planned);
    for (const dep of planned.dependsOn) visit(dep);
  };
  visit(targetIndex);
  const ordered = [...partial.keys()].sort((a, b) => a - b).map((i) => partial.get(i) as Omit<PlannedStage, 'firstStep'>);
  let step = df.globalArgs.length + 1;
  const stages = ordered.map((p) => {
    const planned: PlannedStage = { ...p, firstStep: step };
    step += 1 + p.stage.instructions.length;
    return planned;
  });
  const unusedBuildArgs = findUnused(options.buildArgs, df.globalArgs, stages);
  return {
    stages,
    target: stages[stages.length - 1],
    globalArgs: globals.values,
    buildArgs: { ...options.buildArgs },
    unusedBuildArgs,
    warnings: unusedBuildArgs.length > 0 ? [`[Warning] One or more build-args [${unusedBuildArgs.join(' ')}] were not consumed`] : [],
    totalSteps: step - 1,
  };
}

function findTarget(df: Dockerfile, target: string | undefined): number {
  if (target === undefined || target === '') return df.stages.length - 1;
  const lower = target.toLowerCase();
  const index = df.stages.findIndex((s) => s.name === lower);
  if (index < 0) throw new BuildPlanError(`failed to reach build target ${target} in Dockerfile`);
  return index;
}

function checkDuplicateNames(stages: Stage[]): void {
  const seen = new Set<string>();
  for (const stage of stages) {
    if (stage.name === undefined) continue;
    if (seen.has(stage.name)) throw new BuildPlanError(`${stage.name} stage name already used`, stage.from.line);
    seen.add(stage.name);
  }
}

/**
 * Global ARGs as dockerd processes them: all names and defaults of one ARG line are expanded with
 * the values known before that line, then recorded; a build arg overrides a default.
 */
function resolveGlobalArgs(
  globalArgs: ArgInstruction[],
  buildArgs: Record<string, string | undefined>,
  escape: string,
): { values: Record<string, string>; lookup: VariableLookup } {
  const defaults = new Map<string, string | undefined>();
  const lookup: VariableLookup = (name) => {
    if (!defaults.has(name) && !BUILTIN_BUILD_ARGS.has(name)) return undefined;
    const given = Object.prototype.hasOwnProperty.call(buildArgs, name) ? buildArgs[name] : undefined;
    return given ?? defaults.get(name);
  };
  for (const arg of globalArgs) {
    const expanded = arg.args.map((def) => ({
      key: expandAt(def.key, lookup, escape, arg.line),
      value: def.value === undefined ? undefined : expandAt(def.value, lookup, escape, arg.line),
    }));
    for (const def of expanded) defaults.set(def.key, def.value);
  }
  const values: Record<string, string> = {};
  for (const key of defaults.keys()) {
    const value = lookup(key);
    if (value !== undefined) values[key] = value;
  }
  return { values, lookup };
}

function expandAt(word: string, lookup: VariableLookup, escape: string, line: number): string {
  try {
    return expandWord(word, lookup, escape);
  } catch (err) {
    if (err instanceof ExpansionError) throw new BuildPlanError(err.message, line);
    throw err;
  }
}

function planStage(df: Dockerfile, stage: Stage, lookup: VariableLookup): Omit<PlannedStage, 'firstStep'> {
  const { escape } = df.directives;
  const baseImage = expandAt(stage.from.image, lookup, escape, stage.from.line);
  if (baseImage === '') throw new BuildPlanError(`base name (${stage.from.image}) should not be blank`, stage.from.line);
  const platform = stage.from.platform === undefined ? undefined : expandAt(stage.from.platform, lookup, escape, stage.from.line);
  const lower = baseImage.toLowerCase();
  const base = df.stages.find((s) => s.index < stage.index && s.name === lower);
  const deps = new Set<number>();
  if (base) deps.add(base.index);
  const copySources = new Map<number, CopySource>();
  for (const inst of stage.instructions) {
    if (inst.kind !== 'copy' || inst.from === undefined) continue;
    const source = resolveCopyFromAt(df, stage.index, inst);
    copySources.set(inst.line, source);
    if ('stage' in source) deps.add(source.stage);
  }
  return {
    stage,
    baseImage,
    ...(base ? { baseStage: base.index } : {}),
    ...(platform !== undefined ? { platform } : {}),
    copySources,
    dependsOn: [...deps].sort((a, b) => a - b),
  };
}

function resolveCopyFromAt(df: Dockerfile, stageIndex: number, copy: CopyInstruction): CopySource {
  try {
    return resolveCopyFrom(df, stageIndex, copy.from as string);
  } catch (err) {
    if (err instanceof BuildPlanError) throw new BuildPlanError(err.message, copy.line);
    throw err;
  }
}

/**
 * What `COPY --from=<from>` in stage `stageIndex` reads: an earlier stage by name
 * (case-insensitive) or by index, else an image reference. Naming this stage or a later one is an
 * error, in dockerd's words (`invalid from flag value 1: refers to current build stage`).
 */
export function resolveCopyFrom(df: Dockerfile, stageIndex: number, from: string): CopySource {
  const fail = (reason: string): never => {
    throw new BuildPlanError(`invalid from flag value ${from}: ${reason}`);
  };
  const lower = from.toLowerCase();
  const named = df.stages.find((s) => s.name !== undefined && s.name === lower);
  if (named) {
    if (named.index === stageIndex) fail('refers to current build stage');
    if (named.index > stageIndex) fail(`refers to stage ${named.name} which is defined later in the Dockerfile`);
    return { stage: named.index };
  }
  if (/^[+-]?[0-9]+$/.test(from)) {
    const index = BigInt(from);
    // Go's ParseInt fails beyond int64; such a value is then taken as an image name.
    if (index <= 9223372036854775807n && index >= -9223372036854775808n) {
      if (index === BigInt(stageIndex)) fail('refers to current build stage');
      if (index < 0n || index > BigInt(stageIndex)) fail('index out of bounds');
      return { stage: Number(index) };
    }
  }
  return { image: from };
}

function findUnused(buildArgs: Record<string, string | undefined>, globalArgs: ArgInstruction[], stages: PlannedStage[]): string[] {
  const declared = new Set<string>();
  const declare = (arg: ArgInstruction): void => arg.args.forEach((a) => declared.add(a.key));
  globalArgs.forEach(declare);
  for (const planned of stages) {
    for (const inst of planned.stage.instructions) if (inst.kind === 'arg') declare(inst);
  }
  return Object.keys(buildArgs)
    .filter((key) => !declared.has(key) && !BUILTIN_BUILD_ARGS.has(key))
    .sort();
}

/**
 * The value an in-stage `ARG key[=default]` takes: the build arg when given, else the (already
 * expanded) default, else — for a bare `ARG key` re-declaring a global ARG — the global value.
 */
export function resolveArgValue(plan: Pick<BuildPlan, 'buildArgs' | 'globalArgs'>, key: string, expandedDefault: string | undefined): string | undefined {
  const given = Object.prototype.hasOwnProperty.call(plan.buildArgs, key) ? plan.buildArgs[key] : undefined;
  if (given !== undefined) return given;
  if (expandedDefault !== undefined) return expandedDefault;
  return Object.prototype.hasOwnProperty.call(plan.globalArgs, key) ? plan.globalArgs[key] : undefined;
}
