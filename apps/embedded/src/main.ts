import { ConfigError, loadConfig } from '@cargohold/config';
import type { AppConfig } from '@cargohold/config';
import path from 'node:path';

import { Supervisor } from './supervisor.service';
import { readReplicaCounts, readyBanner } from './supervisor-plan.util';
import type { ReplicaCounts } from './supervisor-plan.util';

// Compiled layout: dist/apps/embedded/src/main.js next to dist/apps/<app>/src/main.js.
const distRoot = path.resolve(__dirname, '..', '..', '..');
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function logError(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Validates everything up front and reports every bad variable at once. */
function readSettings(): { config: AppConfig; replicas: ReplicaCounts } | undefined {
  const problems: string[] = [];
  const attempt = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const config = attempt(() => loadConfig(process.env));
  const replicas = attempt(() => readReplicaCounts(process.env));
  if (config && replicas) return { config, replicas };
  logError(`cargohold: ${new ConfigError(problems).message}`);
  return undefined;
}

/** `npm start`: the whole service on one machine, supervised as one process tree. */
async function main(): Promise<number> {
  const settings = readSettings();
  if (!settings) return 1;
  const { config, replicas } = settings;
  const supervisor = new Supervisor({
    config,
    replicas,
    env: process.env,
    entryOf: (app) => path.join(distRoot, 'apps', app, 'src', 'main.js'),
    log: logError,
  });
  for (const signal of SHUTDOWN_SIGNALS) {
    process.on(signal, () => void supervisor.stop(0, `received ${signal}`));
  }
  if (await supervisor.start()) {
    process.stdout.write(`${readyBanner(config.host, config.port).join('\n')}\n`);
  }
  return (await supervisor.finished).exitCode;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    logError(`cargohold: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
