import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { findExecutable } from './executable.util';

describe('findExecutable', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'cargohold-exec-'));
  const plain = path.join(root, 'plain');
  const bin = path.join(root, 'bin');
  mkdirSync(plain);
  mkdirSync(bin);
  mkdirSync(path.join(plain, 'tool'));
  writeFileSync(path.join(plain, 'other'), '');
  writeFileSync(path.join(bin, 'tool'), '#!/bin/sh\n');
  writeFileSync(path.join(bin, 'other'), '#!/bin/sh\n');
  chmodSync(path.join(bin, 'tool'), 0o755);
  chmodSync(path.join(bin, 'other'), 0o755);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('skips directories and non-executable files of the same name', () => {
    const searchPath = [plain, bin].join(path.delimiter);
    expect(findExecutable('tool', searchPath)).toBe(path.join(bin, 'tool'));
    expect(findExecutable('other', searchPath)).toBe(path.join(bin, 'other'));
  });

  it('returns undefined when nothing matches or PATH is empty', () => {
    expect(findExecutable('missing', [plain, bin].join(path.delimiter))).toBeUndefined();
    expect(findExecutable('tool', '')).toBeUndefined();
    expect(findExecutable('tool', undefined)).toBeUndefined();
  });
});
