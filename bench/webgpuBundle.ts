// Bundles a browser entry of the webgpu benches (and the GPU worker) with esbuild.
// Unlike the conformance bundle (test/browser/build.ts) these entries pull in the
// model and training layers, which import Node built-ins they do not call on this
// path: `node:*` becomes a stub that throws on use, `process` a minimal object, and
// src/backend/compute.ts the browser shim (bf16 products computed in bf16).

import path from 'node:path';
import { ROOT } from '../test/browser/build.js';

export async function bundleBrowserEntries(entries: Record<string, string>, outDir: string): Promise<void> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: { ...entries, gpuWorker: path.join(ROOT, 'src/backend/webgpu/gpuWorkerEntry.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
    banner: { js: 'globalThis.process ??= { env: {}, platform: "browser", versions: {}, cwd: () => "/", on() {}, emitWarning() {} };' },
    plugins: [
      {
        name: 'browser-stubs',
        setup(build) {
          build.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
          build.onLoad({ filter: /.*/, namespace: 'node-stub' }, (a) => ({
            loader: 'js',
            contents: `module.exports = new Proxy({}, { get: (_, k) => k === '__esModule' ? false : () => { throw new Error(${JSON.stringify(a.path)} + '.' + String(k) + ' is not available in a browser'); } });`,
          }));
          build.onResolve({ filter: /^\.\.\/compute\.js$/ }, (a) =>
            a.importer.startsWith(path.join(ROOT, 'src/backend')) ? { path: path.join(ROOT, 'test/browser/shims/compute.ts') } : undefined,
          );
        },
      },
    ],
  });
}
