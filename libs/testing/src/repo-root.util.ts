import { existsSync } from 'node:fs';
import path from 'node:path';

/** The monorepo root (the directory holding nx.json), found upwards from this file. */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'nx.json')) && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no nx.json above ${__dirname}: cannot locate the cargohold repository root`);
  }
}
