// The webgpu backend from Node: a clear error (it runs in a browser worker), and its
// sources stay free of Node built-ins (they are bundled for the browser).
// The backend itself is tested in Chromium: test/browser/webgpuConformance.test.ts.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getBackend } from '../../src/backend/index.js';
import { ColaError } from '../../src/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test("getBackend('webgpu') in Node says where it runs", () => {
  assert.throws(
    () => getBackend('webgpu'),
    (err: unknown) => err instanceof ColaError && /runs in a browser worker/.test(err.message) && /docs\/WEBGPU\.md/.test(err.message),
  );
  const saved = process.env['COLA_BACKEND'];
  process.env['COLA_BACKEND'] = 'webgpu';
  try {
    assert.throws(() => getBackend(), /runs in a browser worker/);
  } finally {
    if (saved === undefined) delete process.env['COLA_BACKEND'];
    else process.env['COLA_BACKEND'] = saved;
  }
});

test('the webgpu backend imports no Node built-ins (it is bundled for browsers)', () => {
  const dir = path.join(root, 'src/backend/webgpu');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5, `sources found under ${dir}`);
  for (const f of files) {
    const text = readFileSync(path.join(dir, f), 'utf8');
    assert.doesNotMatch(text, /from '(node:|fs|path|os|child_process)/, `${f} imports a Node built-in`);
    assert.doesNotMatch(text, /\bprocess\./, `${f} reads process`);
  }
});
