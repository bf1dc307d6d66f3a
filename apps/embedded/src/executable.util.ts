import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** Absolute path of `name` on a PATH-style list, or undefined when no executable file matches. */
export function findExecutable(name: string, searchPath: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.resolve(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here, or not executable: keep looking
    }
  }
  return undefined;
}
