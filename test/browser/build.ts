// Bundles the browser side of the webgpu tests with esbuild (from the TypeScript
// sources) and serves it cross-origin isolated (COOP/COEP: SharedArrayBuffer needs it).
// In the bundle, node:test, node:assert/strict and src/backend/compute.ts (which
// probes the machine through Node) are replaced by test/browser/shims/.

import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/test/browser). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const PAGE = `<!doctype html><meta charset="utf-8"><title>cola webgpu conformance</title>
<pre id="log"></pre>
<script type="module">
  const results = [];
  window.conformance = { results, done: false, fatal: null, adapter: null };
  const w = new Worker('./conformanceWorker.js' + location.search, { type: 'module' });
  w.onmessage = (e) => {
    const m = e.data;
    if (m.kind === 'adapter') window.conformance.adapter = m;
    else if (m.kind === 'case') results.push(m.result);
    else if (m.kind === 'done') window.conformance.done = true;
    else if (m.kind === 'fatal') window.conformance.fatal = m.error;
  };
  w.onerror = (e) => { window.conformance.fatal = 'worker error: ' + e.message; };
</script>`;

/** Writes index.html, conformanceWorker.js and gpuWorker.js into `outDir`. */
export async function buildConformanceBundle(outDir: string): Promise<void> {
  const esbuild = await import('esbuild');
  const shim = (name: string) => path.join(ROOT, 'test/browser/shims', name);
  await esbuild.build({
    entryPoints: {
      conformanceWorker: path.join(ROOT, 'test/browser/conformanceWorker.ts'),
      gpuWorker: path.join(ROOT, 'src/backend/webgpu/gpuWorkerEntry.ts'),
    },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
    plugins: [
      {
        name: 'browser-shims',
        setup(build) {
          build.onResolve({ filter: /^node:test$/ }, () => ({ path: shim('nodeTest.ts') }));
          build.onResolve({ filter: /^node:assert\/strict$/ }, () => ({ path: shim('assert.ts') }));
          build.onResolve({ filter: /^\.\.\/compute\.js$/ }, (args) =>
            args.importer.startsWith(path.join(ROOT, 'src/backend')) ? { path: shim('compute.ts') } : undefined,
          );
        },
      },
    ],
  });
  writeFileSync(path.join(outDir, 'index.html'), PAGE);
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

/** A static server of `dir` on 127.0.0.1 (a free port), cross-origin isolated. */
export async function serveIsolated(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const name = path.normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    readFile(path.join(dir, name)).then(
      (body) => {
        res.writeHead(200, {
          'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream',
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
        });
        res.end(body);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}/` };
}
