// docs/API.md's reference table and the package's exports must agree, both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../cli/harness.js';

const doc = fs.readFileSync(path.join(repoRoot, 'docs/API.md'), 'utf8');
const reference = doc.slice(doc.indexOf('## Reference'));
const rows = reference.split('\n').filter((l) => l.startsWith('| `'));
const names = (cell: string) => [...cell.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
// a row whose second cell is "types" lists type exports (cells may be padded)
const isTypes = (r: string): boolean => r.split('|')[2]?.trim() === 'types';
const documentedValues = rows.filter((r) => !isTypes(r)).flatMap((r) => names(r.split('|')[1]!));
const documentedTypes = rows.filter(isTypes).flatMap((r) => names(r.split('|')[1]!));

test("the package's value exports are exactly the documented ones", async () => {
  // Imported by name, as a user would: package.json "exports" maps 'cola-lora' to dist/src/index.js.
  const api = await import('cola-lora' as string);
  assert.ok(documentedValues.length > 20, 'the reference table was found');
  assert.deepEqual(Object.keys(api).sort(), [...documentedValues].sort());
});

test("the package is named cola-lora everywhere a user copies an import line from (npm's 'cola' is another package)", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; files: string[] };
  assert.equal(pkg.name, 'cola-lora');
  const sources = ['README.md', 'docs/API.md', 'docs/ARCHITECTURE.md', 'examples/finetune.mjs'];
  for (const file of sources) {
    const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
    const imports = [...text.matchAll(/(?:from|import)\s*\(?\s*'(cola[^']*)'/g)].map((m) => m[1]);
    assert.deepEqual(
      imports.filter((name) => name !== 'cola-lora'),
      [],
      `${file} imports a package other than cola-lora`,
    );
  }
  // What npm pack ships: the compiled library, the CLI, prebuilt addons and the sources to build one.
  for (const entry of ['bin/', 'dist/src/', 'native/', 'binding.gyp', 'prebuilds/']) assert.ok(pkg.files.includes(entry), entry);
});

test('the documented types are exported by src/index.ts', () => {
  const index = fs.readFileSync(path.join(repoRoot, 'src/index.ts'), 'utf8');
  const missing = documentedTypes.filter((t) => !new RegExp(`\\b(type ${t}|${t})\\b`).test(index.replace(/\/\/.*$/gm, '')));
  assert.deepEqual(missing, []);
});
