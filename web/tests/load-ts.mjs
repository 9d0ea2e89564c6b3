// Loads the page's own TypeScript modules in Node for unit tests: each file is transpiled
// with the project's TypeScript (types erased, nothing bundled) into a temporary folder.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');
const OUT = fs.mkdtempSync(path.join(os.tmpdir(), 'pinwheel-web-units-'));
process.once('exit', () => fs.rmSync(OUT, { recursive: true, force: true }));

/** Imports src/<name>.ts (and the src modules it imports). */
export async function loadModule(name) {
  for (const file of fs.readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
    const source = fs.readFileSync(path.join(SRC, file), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const withExtensions = outputText.replace(/from '(\.\/[^']+)'/g, "from '$1.js'");
    fs.writeFileSync(path.join(OUT, file.replace(/\.ts$/, '.js')), withExtensions);
  }
  return import(pathToFileURL(path.join(OUT, `${name}.js`)).href);
}
