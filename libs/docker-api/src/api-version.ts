import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The Docker Engine API version cargohold speaks, and the oldest it accepts. */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

/** cargohold's own version, from the root package.json. */
export const CARGOHOLD_VERSION: string = (() => {
  for (const up of ['../../..', '../../../..', '../../../../..']) {
    try {
      return (JSON.parse(readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as { name: string; version: string }).version;
    } catch {
      /* try the next level: source and dist sit at different depths */
    }
  }
  return '0.0.0';
})();
