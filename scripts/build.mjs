// Compiles apps/ and libs/ with SWC into dist/, mirroring the source tree, with @cargohold/*
// imports rewritten to relative paths. Type checking is `npm run typecheck` (tsc), run by npm test.
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');
const { compilerOptions } = JSON.parse(await (await import('node:fs/promises')).readFile(path.join(root, 'tsconfig.base.json'), 'utf8'));
const isTest = (f) => /\.(spec|int-spec|e2e-spec)\.ts$/.test(f);

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'e2e') yield* sources(full);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !isTest(full)) yield full;
  }
}

await rm(out, { recursive: true, force: true });
const jobs = [];
for (const top of ['apps', 'libs', 'bench']) {
  for await (const file of sources(path.join(root, top))) {
    jobs.push(
      (async () => {
        const result = await transformFile(file, {
          sourceMaps: true,
          module: { type: 'commonjs' },
          jsc: {
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
            target: 'es2022',
            baseUrl: root,
            paths: compilerOptions.paths,
          },
        });
        const target = path.join(out, path.relative(root, file)).replace(/\.ts$/, '.js');
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, `${result.code}\n//# sourceMappingURL=${path.basename(target)}.map\n`);
        if (result.map) await writeFile(`${target}.map`, result.map);
      })(),
    );
  }
}
await Promise.all(jobs);
console.log(`built ${jobs.length} files into dist/`);
