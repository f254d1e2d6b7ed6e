// The browser bundle (issue 20): scripts/buildWeb.ts builds dist/web/ with esbuild for the
// browser; a Node built-in without a browser implementation in src/web/platform/ fails that
// build, and the output must hold no require(), no node: import and no native addon loader.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { buildWeb } from '../../scripts/buildWeb.js';

const haveEsbuild = await import('esbuild').then(
  () => true,
  () => false,
);

test(
  'dist/web bundles hold no Node built-in and no native addon loader',
  { skip: haveEsbuild ? false : 'esbuild not installed (a devDependency)' },
  async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-web-'));
    try {
      await buildWeb(out);
      for (const name of ['cola.js', 'studioWorker.js', 'gpuWorker.js', 'page.js']) {
        const js = fs.readFileSync(path.join(out, name), 'utf8');
        assert.doesNotMatch(js, /\brequire\(\s*["'`]/, `${name}: a require() call`);
        assert.doesNotMatch(js, /(from|import\()\s*["'`]node:/, `${name}: a node: import`);
        assert.doesNotMatch(js, /node-gyp-build|cola_native\.node/, `${name}: the native addon loader`);
        // fineTune({ distributed }) reaches backend/mpi.ts, whose loader stays in the bundle
        // inert: node:module is the platform's, whose require refuses every addon.
        if (/cola_mpi\.node/.test(js)) assert.match(js, /native addons do not load in a browser/, `${name}: an addon require that works`);
      }
      assert.ok(fs.existsSync(path.join(out, 'index.html')));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  },
);
