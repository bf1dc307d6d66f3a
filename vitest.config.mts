import { readFileSync } from 'node:fs';
import path from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Resolve @cargohold/* exactly as tsconfig.base.json maps them.
const base = JSON.parse(readFileSync(path.join(import.meta.dirname, 'tsconfig.base.json'), 'utf8')) as {
  compilerOptions: { paths: Record<string, string[]> };
};
const alias = Object.fromEntries(
  Object.entries(base.compilerOptions.paths).map(([name, [target]]) => [name, path.join(import.meta.dirname, target)]),
);

// SWC keeps decorator metadata, which Nest's DI and TypeORM read at run time.
const plugins = [swc.vite({ tsconfigFile: false, jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' } })];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    globals: true,
    projects: [
      {
        plugins,
        resolve: { alias },
        test: { name: 'unit', include: ['{apps,libs}/**/*.spec.ts'], globals: true },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['{apps,libs}/**/*.int-spec.ts'],
          globals: true,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'e2e',
          include: ['apps/e2e/**/*.e2e-spec.ts'],
          globals: true,
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
