import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tether } from './child-process.util';

let root: string | undefined;

/**
 * A new directory under this process's scratch root, which is removed when the process ends
 * (however it ends). For small things tests do not clean up themselves: client configs,
 * cached hostile fixtures.
 */
export function scratchDir(prefix: string): string {
  if (!root) {
    root = mkdtempSync(path.join(os.tmpdir(), `cargohold-testing-${process.pid}-`));
    tether({ paths: [root] });
  }
  return mkdtempSync(path.join(root, `${prefix}-`));
}
