// GFLOP/s of the WGSL matmul kernel (src/backend/webgpu/kernels/matmul.ts) in
// headless Chromium, on every adapter the page gets (a real GPU where Chromium has
// one, SwiftShader on a machine without), with the session-5 kernel as baseline.
// Kernel time only: operands stay on the GPU; 3 rounds of 3 dispatches, the best
// round reported. One JSON line a (adapter, kernel, shape) on stdout, appended to
// bench/raw/session6-webgpu-matmul.jsonl (or the path given). Extra Chromium flags
// (e.g. for a GPU: --enable-features=Vulkan) in COLA_BENCH_CHROMIUM_ARGS.
// Run: npx tsc -p tsconfig.json && node dist/bench/webgpuMatmul.js [out.jsonl]

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, serveIsolated } from '../test/browser/build.js';
import { browserSkipReason, CHROMIUM, CHROMIUM_ARGS } from '../test/browser/chromium.js';
import type { MatmulRow } from './webgpuMatmulPage.js';

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
const extra = (process.env['COLA_BENCH_CHROMIUM_ARGS'] ?? '').split(' ').filter(Boolean);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extra] });
const out = process.argv[2] ?? path.join(ROOT, 'bench/raw/session6-webgpu-matmul.jsonl');
try {
  const page = await browser.newPage();
  await page.goto(url);
  const handle = await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, undefined, {
    timeout: 600_000,
  });
  const result = (await handle.jsonValue()) as { rows?: MatmulRow[]; adapters?: string[]; error?: string };
  if (result.error || !result.rows) throw new Error(`the page failed: ${result.error}`);
  console.error(`adapters: ${result.adapters!.join('; ')}`);
  const date = new Date().toISOString();
  for (const row of result.rows) {
    const line = JSON.stringify({ bench: 'webgpu-matmul', date, chromiumArgs: extra, ...row });
    console.log(line);
    appendFileSync(out, `${line}\n`);
  }
  console.error(`appended ${result.rows.length} lines to ${out}`);
} finally {
  await browser.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
