/**
 * @cargohold/dockerfile — Dockerfile parsing, variable substitution, stage planning and
 * .dockerignore matching for cargohold's builder, a reimplementation of Docker's legacy builder
 * (`DOCKER_BUILDKIT=0 docker build`). Pure: no I/O. Docker's behaviour is the specification;
 * messages are dockerd's own texts.
 *
 * Supported
 * - Parser directives at the top: `# escape=\`` / `# escape=\\`, `# syntax=...` (recorded, ignored),
 *   `# check=...` (ignored); comments; line continuations with the escape character (comment and
 *   blank lines inside a continuation are skipped, continuation lines keep their leading blanks);
 *   case-insensitive instruction names; a UTF-8 BOM.
 * - Heredocs on RUN/COPY/ADD (also behind ONBUILD): `<<EOF`, `<<-EOF` (tab stripping), quoted
 *   delimiters (`<<'EOF'`, `<<"EOF"`, `<<E"O"F`: no expansion), several per line, `3<<EOF`.
 * - Exec (JSON array) and shell forms for RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD; SHELL (JSON only).
 * - Every instruction: FROM (--platform, AS name), RUN (--network), CMD, LABEL, MAINTAINER,
 *   EXPOSE, ENV (k=v... and legacy `k v`), ADD/COPY (--chown, --chmod, --link, COPY --from), ENTRYPOINT,
 *   VOLUME, USER, WORKDIR, ARG, ONBUILD (trigger parsed), STOPSIGNAL, HEALTHCHECK (NONE, CMD with
 *   --interval/--timeout/--start-period/--start-interval/--retries), SHELL.
 * - The shell lexer's substitution: $V ${V} ${V:-x} ${V-x} ${V:+x} ${V+x} ${V:?x} ${V?x}
 *   ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}, quotes, escapes.
 * - Stage planning with --target, FROM <stage>, COPY --from=<name|index>, global ARGs in FROM, unused
 *   build-arg warnings; .dockerignore with moby/patternmatcher semantics.
 *
 * Refused (at parse time, with dockerd's "requires BuildKit" message): RUN --mount/--security/
 * --device; ADD --checksum/--keep-git-dir/--unpack/--exclude; COPY --exclude/--parents.
 * ONBUILD ONBUILD, ONBUILD FROM and ONBUILD MAINTAINER are refused as Docker refuses them. Unlike
 * dockerd, an ONBUILD whose trigger does not parse is refused when the Dockerfile is parsed.
 * Not provided here: `# syntax` frontends, and the legacy builder's refusal of --chmod and
 * --network (accepted here; the builder decides).
 *
 * Caller duties: the Dockerfile and .dockerignore are never excluded from what the builder reads,
 * whatever .dockerignore says; expand instruction arguments (expandInstruction) with the stage's
 * ENV plus the declared ARGs before executing them.
 */

export { DockerfileSyntaxError, ExpansionError, BuildPlanError, DockerignoreError } from './errors';

export type {
  AddInstruction,
  ArgDefinition,
  ArgInstruction,
  CmdInstruction,
  CommandLine,
  CopyInstruction,
  Directives,
  Dockerfile,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  FromInstruction,
  HealthcheckInstruction,
  HealthConfig,
  Heredoc,
  InlineSource,
  Instruction,
  InstructionKind,
  KeyValue,
  LabelInstruction,
  MaintainerInstruction,
  OnbuildInstruction,
  RunInstruction,
  ShellInstruction,
  Stage,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from './instructions';

/** parseDockerfile(text): the typed Dockerfile; parseTrigger(expr): a base image's ONBUILD entry. */
export { parseDockerfile, parseTrigger } from './parse';

/** expandWord / expandWords: Docker's ProcessWord / ProcessWords; expandHeredocContent for COPY heredocs. */
export { expandWord, expandWords, expandHeredocContent } from './shell-lex';
export type { VariableLookup } from './shell-lex';

/** EXPANDED_INSTRUCTIONS and expandInstruction: where and how Docker substitutes variables. */
export { EXPANDED_INSTRUCTIONS, expandInstruction } from './expand';

/** heredocBody: a heredoc's text with `<<-` tab stripping applied. */
export { heredocBody } from './heredoc';

/** resolveRunCommand: what a RUN (possibly with heredocs) executes. */
export { resolveRunCommand } from './run-command';
export type { ResolvedRunCommand } from './run-command';

/** planBuild: which stages to build, in order, with FROM references expanded. */
export { planBuild, resolveCopyFrom, resolveArgValue, BUILTIN_BUILD_ARGS } from './plan';
export type { BuildPlan, BuildPlanOptions, PlannedStage, CopySource } from './plan';

/** exposedPorts / isValidStopSignal: dockerd's checks when EXPOSE and STOPSIGNAL reach the config. */
export { exposedPorts, isValidStopSignal } from './config-values';

/** applyToConfig: an instruction's effect on the container config (builds and --change); parseConfigChanges: dockerd's BuildFromConfig parse. */
export { applyToConfig, ConfigApplyError, ConfigDispatchError, configEnvLookup, DEFAULT_SHELL, isMetadataInstruction, parseConfigChanges, resolveWorkdir } from './config-apply';
export type { ChangeInstruction, ConfigChanges, ConfigInstruction, DispatchState, MetadataInstruction } from './config-apply';

/** .dockerignore reading and matching. */
export { parseDockerignore, createIgnoreMatcher } from './dockerignore';
export type { IgnoreMatcher } from './dockerignore';
