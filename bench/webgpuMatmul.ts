// GFLOP/s of the WGSL matmul kernel (src/backend/webgpu/kernels/matmul.ts) in
// headless Chromium, on whatever adapter it gets (SwiftShader on a machine without
// a GPU). Kernel time only: operands stay on the GPU; 3 rounds of 3 dispatches,
// the best round reported. Run: npx tsc -p tsconfig.json && node dist/bench/webgpuMatmul.js

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, serveIsolated } from '../test/browser/build.js';
import { browserSkipReason, CHROMIUM, CHROMIUM_ARGS } from '../test/browser/chromium.js';

const skip = await browserSkipReason();
if (skip) {
  console.error(`cannot run: ${skip}`);
  process.exit(1);
}
const dir = mkdtempSync(path.join(tmpdir(), 'cola-webgpu-bench-'));
const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: [path.join(ROOT, 'bench/webgpuMatmulPage.ts')],
  outfile: path.join(dir, 'bench.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  logLevel: 'error',
});
writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="./bench.js"></script>');
const { server, url } = await serveIsolated(dir);
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  await page.goto(url);
  const handle = await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, undefined, {
    timeout: 600_000,
  });
  console.log(JSON.stringify(await handle.jsonValue(), null, 1));
} finally {
  await browser.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
