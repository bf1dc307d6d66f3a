/**
 * Which instructions Docker expands variables in, and that expansion applied to a parsed
 * instruction (buildkit's SupportsSingleWordExpansion implementations, EXPOSE's word splitting).
 */
import type { Instruction, InstructionKind } from './instructions';
import type { VariableLookup } from './shell-lex';
import { expandHeredocContent, expandWord, expandWords } from './shell-lex';

/**
 * Instruction kinds whose arguments Docker expands (`$VAR`, `${VAR:-x}`, quotes removed):
 * ADD, ARG, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR. Not RUN, CMD,
 * ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER or ONBUILD (a trigger is expanded when it runs).
 * FROM is expanded with global ARGs only (planBuild does it); the others with the stage's ENV and
 * declared ARGs.
 */
export const EXPANDED_INSTRUCTIONS: ReadonlySet<InstructionKind> = new Set<InstructionKind>([
  'add',
  'arg',
  'copy',
  'env',
  'expose',
  'from',
  'label',
  'stopsignal',
  'user',
  'volume',
  'workdir',
]);

/**
 * Returns a copy of the instruction with Docker's expansion applied, in Docker's order:
 * ENV/LABEL keys and values; ARG names and defaults; ADD/COPY --chown, --chmod, sources and
 * destination (not COPY --from), and inline heredoc sources whose delimiter was unquoted;
 * VOLUME entries; USER; WORKDIR; STOPSIGNAL; EXPOSE words, each possibly splitting into several
 * ports. Other instructions are returned unchanged. Throws ExpansionError.
 */
export function expandInstruction<T extends Instruction>(instruction: T, lookup: VariableLookup, escape = '\\'): T {
  const word = (w: string): string => expandWord(w, lookup, escape);
  const inst: Instruction = instruction;
  switch (inst.kind) {
    case 'env':
      return { ...inst, env: inst.env.map((kv) => ({ key: word(kv.key), value: word(kv.value) })) } as T;
    case 'label':
      return { ...inst, labels: inst.labels.map((kv) => ({ key: word(kv.key), value: word(kv.value) })) } as T;
    case 'arg':
      return {
        ...inst,
        args: inst.args.map((a) => (a.value === undefined ? { key: word(a.key) } : { key: word(a.key), value: word(a.value) })),
      } as T;
    case 'add':
    case 'copy': {
      const chown = inst.chown === undefined ? {} : { chown: word(inst.chown) };
      const chmod = inst.chmod === undefined ? {} : { chmod: word(inst.chmod) };
      const sources = inst.sources.map(word);
      const dest = word(inst.dest);
      const inlineSources = inst.inlineSources.map((s) => (s.expand ? { ...s, data: expandHeredocContent(s.data, lookup) } : s));
      return { ...inst, ...chown, ...chmod, sources, dest, inlineSources } as T;
    }
    case 'volume':
      return { ...inst, volumes: inst.volumes.map(word) } as T;
    case 'user':
      return { ...inst, user: word(inst.user) } as T;
    case 'workdir':
      return { ...inst, path: word(inst.path) } as T;
    case 'stopsignal':
      return { ...inst, signal: word(inst.signal) } as T;
    case 'expose':
      return { ...inst, ports: inst.ports.flatMap((p) => expandWords(p, lookup, escape)) } as T;
    case 'run':
    case 'cmd':
    case 'entrypoint':
    case 'shell':
    case 'maintainer':
    case 'onbuild':
    case 'healthcheck':
      return instruction;
  }
}
