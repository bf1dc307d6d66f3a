/**
 * Instruction flags (`--chown=...`) validated as BuildKit's BFlags does, with its error texts
 * (`unknown flag: --chwon (did you mean chown?)`, `missing a value on flag: --from`, ...).
 */
import { LineError } from './errors';
import { withSuggestion } from './go-compat';

type FlagType = 'bool' | 'string' | 'strings';

interface FlagSpec {
  type: FlagType;
  value?: string;
  values: string[];
}

export class InstructionFlags {
  private readonly specs = new Map<string, FlagSpec>();
  /** Names of the flags given, in the order they were first given. */
  readonly used: string[] = [];

  constructor(private readonly args: readonly string[]) {}

  define(name: string, type: FlagType): this {
    this.specs.set(name, { type, values: [] });
    return this;
  }

  /** The string value given, or undefined when the flag was not given. */
  string(name: string): string | undefined {
    return this.specs.get(name)?.value;
  }

  strings(name: string): string[] {
    return this.specs.get(name)?.values ?? [];
  }

  bool(name: string): boolean {
    return this.specs.get(name)?.value === 'true';
  }

  /** Validates the given flags against the defined ones; throws Docker's messages. */
  parse(): void {
    for (const arg of this.args) {
      // A bare `--` ends the flags (POSIX utility syntax).
      if (arg === '--') return;
      if (!arg.startsWith('--')) throw new LineError(`arg should start with -- : ${arg}`);
      const eq = arg.indexOf('=');
      const flagName = eq < 0 ? arg : arg.slice(0, eq);
      const value = eq < 0 ? '' : arg.slice(eq + 1);
      const hasValue = eq >= 0;
      const name = flagName.slice(2);
      const spec = this.specs.get(name);
      if (!spec) throw new LineError(withSuggestion(`unknown flag: ${flagName}`, name, [...this.specs.keys()], true));
      if (this.used.includes(name) && spec.type !== 'strings') throw new LineError(`duplicate flag specified: ${flagName}`);
      if (!this.used.includes(name)) this.used.push(name);
      this.assign(spec, flagName, value, hasValue);
    }
  }

  private assign(spec: FlagSpec, flagName: string, value: string, hasValue: boolean): void {
    if (spec.type === 'bool') {
      if (hasValue && value === '') throw new LineError(`missing a value on flag: ${flagName}`);
      const lower = value.toLowerCase();
      if (lower !== 'true' && lower !== '' && lower !== 'false') {
        throw new LineError(`expecting boolean value for flag ${flagName}, not: ${value}`);
      }
      spec.value = lower === 'false' ? 'false' : 'true';
      return;
    }
    if (!hasValue) throw new LineError(`missing a value on flag: ${flagName}`);
    if (spec.type === 'string') spec.value = value;
    else spec.values.push(value);
  }
}
