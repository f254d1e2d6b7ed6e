// Array bytes the webgpu backend moves per LoRA training step (issue 20, resident
// weights): a stories260K-shaped Llama (random weights; dim 64, 5 layers, vocab 512),
// batch 4 x 64 tokens, rank-8 LoRA on every linear layer, 3 steps with frozen weights
// kept on the GPU and 3 without (bench/webgpuTrainStepWorker.ts), in headless Chromium
// on whatever adapter it gets. Bytes are counted in the client (client.ts Traffic):
// deterministic, unlike the wall time (printed too, meaningless on a loaded machine).
// Run: npx tsc -p tsconfig.json && node dist/bench/webgpuTrainStep.js [out.jsonl]

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, serveIsolated } from '../test/browser/build.js';
import { browserSkipReason, CHROMIUM, CHROMIUM_ARGS } from '../test/browser/chromium.js';
import { bundleBrowserEntries } from './webgpuBundle.js';

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
  window.bench = { rows: [], done: false, fatal: null, adapter: null };
  const w = new Worker('./trainStep.js', { type: 'module' });
  w.onmessage = (e) => {
    const m = e.data;
    if (m.kind === 'adapter') window.bench.adapter = m.adapter;
    else if (m.kind === 'row') window.bench.rows.push(m.row);
    else if (m.kind === 'done') window.bench.done = true;
    else if (m.kind === 'fatal') window.bench.fatal = m.error;
  };
  w.onerror = (e) => { window.bench.fatal = 'worker error: ' + e.message; };
</script>`;

const skip = await browserSkipReason();
if (skip) {
  console.error(`cannot run: ${skip}`);
  process.exit(1);
}
const out = process.argv[2];
const dir = mkdtempSync(path.join(tmpdir(), 'cola-webgpu-train-'));
await bundleBrowserEntries({ trainStep: path.join(ROOT, 'bench/webgpuTrainStepWorker.ts') }, dir);
writeFileSync(path.join(dir, 'index.html'), PAGE);
const { server, url } = await serveIsolated(dir);
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  await page.goto(url);
  const handle = await page.waitForFunction(
    () => {
      const b = (window as unknown as { bench: { done: boolean; fatal: string | null } }).bench;
      return b && (b.done || b.fatal) ? b : null;
    },
    undefined,
    { timeout: 1_200_000, polling: 500 },
  );
  const s = (await handle.jsonValue()) as unknown as { rows: Record<string, unknown>[]; fatal: string | null; adapter: string };
  if (s.fatal) throw new Error(`the browser side failed: ${s.fatal}`);
  for (const row of s.rows) {
    const line = JSON.stringify({ bench: 'webgpu-train-step', model: 'stories260K-shaped', adapter: s.adapter, ...row });
    console.log(line);
    if (out) appendFileSync(out, `${line}\n`);
  }
} finally {
  await browser.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
