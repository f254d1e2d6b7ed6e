// GFLOP/s of the WGSL matmul kernel (src/backend/webgpu/kernels/matmul.ts) in
// headless Chromium, or with --node in Node over Dawn's npm package `webgpu` (the
// webgpu backend's Node path: a GPU's Vulkan driver, else SwiftShader), on every
// adapter it gets (a real GPU where there is one, SwiftShader on a machine without),
// with the session-5 kernel as baseline. Kernel time only: operands stay on the GPU;
// 3 rounds of 3 dispatches (more on a fast adapter: a round >= 0.1 s; 4096^3 added
// there), the best round reported. One JSON line a (adapter, kernel, shape) on
// stdout, appended to bench/raw/session6-webgpu-matmul.jsonl (or the path given).
// --quick: 256^3 only. Extra Chromium flags (e.g. for a GPU: --enable-features=Vulkan)
// in COLA_BENCH_CHROMIUM_ARGS.
// Run: npx tsc -p tsconfig.json && node dist/bench/webgpuMatmul.js [--node] [--quick] [out.jsonl]

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, serveIsolated } from '../test/browser/build.js';
import { browserSkipReason, CHROMIUM, CHROMIUM_ARGS } from '../test/browser/chromium.js';
import type { GpuNavigator } from '../src/backend/webgpu/gpuTypes.js';
import { prepareWebGpuEnv, webgpuPackageMissing } from '../src/backend/webgpuNode/index.js';
import { benchMatmul, type BenchOptions, type MatmulRow } from './webgpuMatmulPage.js';

const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith('--')));
for (const f of flags) if (f !== '--node' && f !== '--quick') throw new Error(`unknown flag ${f}: expected --node, --quick`);
const opts: BenchOptions = { quick: flags.has('--quick') };
const out = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? path.join(ROOT, 'bench/raw/session6-webgpu-matmul.jsonl');
const result = flags.has('--node') ? await inNode() : await inChromium();
const date = new Date().toISOString();
console.error(`adapters: ${result.adapters.join('; ')}`);
for (const row of result.rows) {
  const line = JSON.stringify({ bench: 'webgpu-matmul', date, runtime: result.runtime, ...row });
  console.log(line);
  appendFileSync(out, `${line}\n`);
}
console.error(`appended ${result.rows.length} lines to ${out}`);
// Dawn's GPU object would keep Node alive
process.exit(0);

interface BenchResult {
  rows: MatmulRow[];
  adapters: string[];
  /** 'node-dawn (VK_ICD_FILENAMES=...)' or 'chromium' with its extra flags */
  runtime: string;
}

/** Dawn in this process: the adapter the webgpu backend would get (SwiftShader when cola falls back to it). */
async function inNode(): Promise<BenchResult> {
  const missing = webgpuPackageMissing();
  if (missing) throw new Error(missing);
  prepareWebGpuEnv(['--backend', 'webgpu']); // cola's SwiftShader fallback, with its note
  const { create } = (await import('webgpu')) as unknown as { create(flags: string[]): GpuNavigator['gpu'] };
  const r = await benchMatmul(create([]), opts);
  return { ...r, runtime: `node-dawn webgpu@0.6.2 (VK_ICD_FILENAMES=${process.env['VK_ICD_FILENAMES'] ?? 'unset'})` };
}

async function inChromium(): Promise<BenchResult> {
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
  try {
    const page = await browser.newPage();
    await page.goto(opts.quick ? `${url}?quick` : url);
    const handle = await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, undefined, {
      timeout: 600_000,
    });
    const result = (await handle.jsonValue()) as { rows?: MatmulRow[]; adapters?: string[]; error?: string };
    if (result.error || !result.rows) throw new Error(`the page failed: ${result.error}`);
    return { rows: result.rows, adapters: result.adapters!, runtime: `chromium ${extra.join(' ')}`.trim() };
  } finally {
    await browser.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
