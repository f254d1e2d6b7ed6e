// Where the native addon is looked for (issue 16, part 5): a local build first,
// else a prebuilt binary shipped in the package (node-gyp-build's convention).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { addonPath } from '../../src/backend/native/index.js';

test('the addon is build/Release/cola_native.node, else prebuilds/<platform>-<arch>/*.node, else none', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-addon-'));
  try {
    fs.writeFileSync(path.join(root, 'package.json'), '{"name": "cola-lora"}');
    assert.equal(addonPath(root), null);
    const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'cola-lora.node');
    fs.mkdirSync(path.dirname(prebuilt), { recursive: true });
    fs.writeFileSync(prebuilt, '');
    assert.equal(addonPath(root), prebuilt);
    const built = path.join(root, 'build', 'Release', 'cola_native.node');
    fs.mkdirSync(path.dirname(built), { recursive: true });
    fs.writeFileSync(built, '');
    assert.equal(addonPath(root), built);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
