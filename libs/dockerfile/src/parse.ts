import { atLine, parseAst } from './ast';
import { DockerfileSyntaxError, LineError } from './errors';
import type { ArgInstruction, Dockerfile, Instruction, Stage } from './instructions';
import { parseInstruction } from './instructions-parse';

/**
 * Parses a Dockerfile the way `docker build` does (legacy builder, buildkit's parser). Throws
 * DockerfileSyntaxError with dockerd's message and the instruction's first line.
 */
export function parseDockerfile(text: string): Dockerfile {
  const { nodes, directives, warnings } = parseAst(text);
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const node of nodes) {
    const parsed = atLine(node.startLine, () =>
      parseInstruction(node, { parseTrigger: recordedTrigger, refuseBuildkitOnly: true }),
    );
    if (parsed.kind === 'from') {
      stages.push({ index: stages.length, ...(parsed.stageName ? { name: parsed.stageName } : {}), from: parsed, instructions: [] });
      continue;
    }
    if (stages.length === 0) {
      if (parsed.kind === 'arg') {
        globalArgs.push(parsed);
        continue;
      }
      throw new DockerfileSyntaxError(node.startLine, 'no build stage in current context');
    }
    stages[stages.length - 1].instructions.push(parsed);
  }
  return { directives, globalArgs, stages, warnings };
}

/**
 * Parses an ONBUILD trigger taken from a base image's config (`OnBuild` entries) so the builder can
 * run it; like dockerd it is read as a one-instruction Dockerfile with the default escape.
 */
export function parseTrigger(expression: string): Instruction {
  return atLine(1, () => triggerInstruction(expression, true));
}

function recordedTrigger(expression: string): Instruction {
  return triggerInstruction(expression, false);
}

function triggerInstruction(expression: string, refuseBuildkitOnly: boolean): Instruction {
  let nodes;
  try {
    nodes = parseAst(expression).nodes;
  } catch (err) {
    if (err instanceof DockerfileSyntaxError) throw new LineError(err.detail);
    throw err;
  }
  if (nodes.length !== 1) throw new LineError('onbuild trigger should be a single expression');
  const parsed = parseInstruction(nodes[0], { parseTrigger: recordedTrigger, refuseBuildkitOnly });
  if (parsed.kind === 'from') throw new LineError("FROM isn't allowed as an ONBUILD trigger");
  return parsed;
}
