import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';

const SOURCE = path.join(__dirname, '..');

/**
 * The library as CommonJS in `out` (`out/index.js`), so that a plain `node` child process — one
 * running as another user, or one a test kills — can load it.
 */
export async function compileLibrary(out: string): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(file);
      else if (file.endsWith('.ts') && !/spec\.ts$/.test(file)) {
        const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        });
        const target = path.join(out, path.relative(SOURCE, file)).replace(/\.ts$/, '.js');
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, outputText);
      }
    }
  };
  await walk(SOURCE);
}
