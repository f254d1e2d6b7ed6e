// Imports only run downward: backend <- tensor <- nn <- models <- lora (issue 13).
// A layer that reached up (nn -> models did, for a type) would make the lower
// one unusable without the upper one; nothing in src/ may reach out into bench/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src'); // from dist/test/nn
const LAYERS = ['backend', 'tensor', 'nn', 'models', 'lora'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

test('no module of a layer imports from a layer above it', () => {
  const problems: string[] = [];
  for (const file of tsFiles(src)) {
    const from = path.relative(src, file).split(path.sep)[0]!;
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const target = path.relative(src, path.resolve(path.dirname(file), spec!));
      const to = target.split(path.sep)[0]!;
      const [i, j] = [LAYERS.indexOf(from), LAYERS.indexOf(to)];
      if (i >= 0 && j > i) problems.push(`${path.relative(src, file)} imports ${target} (${from} is below ${to})`);
    }
  }
  assert.deepEqual(problems, []);
});
