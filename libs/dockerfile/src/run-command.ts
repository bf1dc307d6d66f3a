/**
 * How a RUN with heredocs becomes a command, following BuildKit's dispatchRun (the legacy builder
 * has no heredoc support of its own, so BuildKit's behaviour is the reference).
 */
import { heredocBody, parseHeredocWord } from './heredoc';
import type { RunInstruction } from './instructions';

export interface ResolvedRunCommand {
  /** Exec form: run `args` as given. Shell form: run SHELL + `args` (one string). */
  args: string[];
  execForm: boolean;
  /**
   * A script to place in the container before running (mode 0755), for `RUN <<EOF` whose body starts
   * with `#!`: args then name this path.
   */
  file?: { path: string; data: string };
}

/**
 * - no heredoc: the command as written;
 * - `RUN <<EOF` alone: the body is the shell command, or an executable file when it starts with `#!`;
 * - heredocs within a longer command (`RUN cat <<EOF > x`): the line plus each body and delimiter
 *   is handed to the shell, which does the redirection itself.
 */
export function resolveRunCommand(run: RunInstruction): ResolvedRunCommand {
  if (run.heredocs.length === 0) return { args: run.args, execForm: run.execForm };
  if (run.args.length !== 1 || run.execForm) {
    throw new Error(`parsing produced an invalid run command: [${run.args.join(' ')}]`);
  }
  const single = singleHeredoc(run.args[0]);
  if (single) {
    const first = run.heredocs[0];
    const data = heredocBody(first);
    if (data.startsWith('#!')) {
      const path = `/dev/pipes/${first.name}`;
      return { args: [path], execForm: false, file: { path, data } };
    }
    return { args: [data], execForm: false };
  }
  let script = run.args[0];
  for (const doc of run.heredocs) script += `\n${doc.content}${doc.name}`;
  return { args: [script], execForm: false };
}

function singleHeredoc(command: string): boolean {
  try {
    return parseHeredocWord(command) !== undefined;
  } catch {
    return false;
  }
}
