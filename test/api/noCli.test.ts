// The library (src/index.ts) must run without loading the CLI: the files it imports at
// run time (type-only imports are erased by tsc) never reach src/cli/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const distSrc = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every compiled file reachable from `entry` through relative static or dynamic imports. */
function runtimeImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const js = fs.readFileSync(file, 'utf8');
    for (const m of js.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g))
      todo.push(path.resolve(path.dirname(file), m[1]!));
  }
  return seen;
}

test('the library entry point loads nothing from src/cli', () => {
  const files = [...runtimeImports(path.join(distSrc, 'index.js'))].map((f) => path.relative(distSrc, f));
  assert.ok(
    files.includes(path.join('api', 'fineTune.js')) && files.includes(path.join('cola', 'runFlags.js')),
    'the walk follows imports',
  );
  assert.deepEqual(
    files.filter((f) => f.startsWith(`cli${path.sep}`)),
    [],
  );
});
