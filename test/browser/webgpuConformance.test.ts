// The webgpu backend (WGSL, in headless Chromium through SwiftShader) against the
// reference backend: the cases of test/backend/conformanceSuite.ts, the same the
// native backend runs, bundled and run in a dedicated worker of a page
// (test/browser/conformanceWorker.ts). Each browser case becomes a subtest here.
// Skips with the reason when chromium or playwright-core is missing.
// COLA_WEBGPU_FILTER=matmul runs only the cases whose name contains it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildConformanceBundle, serveIsolated } from './build.js';
import { browserSkipReason, CHROMIUM, CHROMIUM_ARGS } from './chromium.js';
import type { CaseResult } from './shims/nodeTest.js';

interface PageState {
  results: CaseResult[];
  done: boolean;
  fatal: string | null;
  adapter: { adapter: string; features: string[] } | null;
}

const skip = await browserSkipReason();

test('webgpu backend conformance in Chromium (SwiftShader)', { skip, timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cola-webgpu-'));
  const { chromium } = await import('playwright-core');
  await buildConformanceBundle(dir);
  const { server, url } = await serveIsolated(dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const filter = process.env['COLA_WEBGPU_FILTER'];
    await page.goto(filter ? `${url}?filter=${encodeURIComponent(filter)}` : url);
    const handle = await page.waitForFunction(
      () => {
        const c = (window as unknown as { conformance?: PageState }).conformance;
        return c && (c.done || c.fatal) ? c : null;
      },
      undefined,
      { timeout: 220_000, polling: 250 },
    );
    const s = (await handle.jsonValue()) as PageState;
    if (s.fatal) throw new Error(`the browser side failed: ${s.fatal}`);
    t.diagnostic(`adapter: ${s.adapter?.adapter}; features: ${s.adapter?.features.join(' ')}`);
    if (s.results.length === 0) throw new Error('no conformance case ran');
    for (const r of s.results) {
      await t.test(`${r.name} (${r.ms.toFixed(0)} ms)`, { skip: r.skipped ?? false }, () => {
        if (r.error) throw new Error(r.error);
      });
    }
  } finally {
    await browser.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
