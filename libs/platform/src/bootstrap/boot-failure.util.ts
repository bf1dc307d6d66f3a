import { ConfigError, loadConfig } from '@cargohold/config';
import type { AppConfig } from '@cargohold/config';

/**
 * What main.ts does when start-up fails: one plain message on stderr (a ConfigError lists each
 * bad variable), then exit code 1. Plain text because the logger may not be up yet.
 */
export function exitOnBootFailure(app: string): (error: unknown) => never {
  return (error: unknown): never => {
    if (error instanceof ConfigError) {
      process.stderr.write(`cargohold ${app}: invalid configuration\n${error.problems.map((p) => `  - ${p}\n`).join('')}`);
    } else {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`cargohold ${app}: failed to start: ${detail}\n`);
    }
    process.exit(1);
  };
}

/** Validates the environment before anything else runs; exits 1 naming each bad variable. */
export function loadConfigOrExit(app: string): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    return exitOnBootFailure(app)(error);
  }
}
