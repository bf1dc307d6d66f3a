/**
 * A Dockerfile the parser refuses. `message` is what `docker build` prints:
 * `dockerfile parse error on line 3: unknown instruction: FRM (did you mean FROM?)`.
 */
export class DockerfileSyntaxError extends Error {
  constructor(
    /** 1-based line where the offending instruction starts. */
    readonly line: number,
    /** The reason without the `dockerfile parse error on line N: ` prefix. */
    readonly detail: string,
  ) {
    super(`dockerfile parse error on line ${line}: ${detail}`);
    this.name = 'DockerfileSyntaxError';
  }
}

/**
 * Variable substitution failed (`${X:?msg}`, a bad modifier, an unclosed quote). The message is
 * Docker's: `failed to process "${X:?}": X: is not allowed to be unset`.
 */
export class ExpansionError extends Error {
  constructor(
    readonly word: string,
    readonly detail: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExpansionError';
  }
}

/** The stages cannot be planned (unknown target, bad COPY --from, duplicate stage names, ...). */
export class BuildPlanError extends Error {
  constructor(
    message: string,
    /** 1-based line of the instruction at fault, when there is one. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'BuildPlanError';
  }
}

/** A .dockerignore pattern patternmatcher would refuse (`illegal exclusion pattern: "!"`, `syntax error in pattern`). */
export class DockerignoreError extends Error {
  constructor(
    message: string,
    readonly pattern: string,
  ) {
    super(message);
    this.name = 'DockerignoreError';
  }
}

/** Internal: a failure whose line the caller attaches. */
export class LineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LineError';
  }
}
