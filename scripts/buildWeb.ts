// Builds the browser side of cola (issue 20) into dist/web/ with esbuild: cola.js (the
// library as an ESM bundle), the studio page (page.js, studioWorker.js, gpuWorker.js,
// index.html, studio.css). Run by `npm run build` after tsc.
//
// The library reaches the file system and the process through Node built-ins; in this
// bundle each one resolves to a browser implementation in src/web/platform/ (node:fs: an
// in-memory file tree the page fills from fetch/File; node:path: posix; node:crypto:
// sync SHA-256; node:module: no native addon) and `process`/`Buffer` are injected. Any
// other Node built-in fails the build, naming the importer.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/scripts). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Node built-in -> its browser implementation (src/web/platform/). */
export const PLATFORM: Record<string, string> = {
  fs: 'fs.ts',
  path: 'path.ts',
  os: 'os.ts',
  crypto: 'crypto.ts',
  module: 'module.ts',
  url: 'url.ts',
  worker_threads: 'worker_threads.ts',
};

export async function buildWeb(outDir = path.join(ROOT, 'dist/web')): Promise<void> {
  const esbuild = await import('esbuild');
  const platform = path.join(ROOT, 'src/web/platform');
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: {
      cola: path.join(ROOT, 'src/web/index.ts'),
      page: path.join(ROOT, 'src/web/page.ts'),
      studioWorker: path.join(ROOT, 'src/web/studioWorker.ts'),
      gpuWorker: path.join(ROOT, 'src/backend/webgpu/gpuWorkerEntry.ts'),
    },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'error',
    inject: [path.join(platform, 'globals.ts')],
    plugins: [
      {
        name: 'cola-platform',
        setup(build) {
          build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
            const name = args.path.replace(/^node:/, '');
            const file = PLATFORM[name];
            if (file) return { path: path.join(platform, file) };
            if (args.path.startsWith('node:'))
              return {
                errors: [
                  {
                    text: `${args.path} (imported by ${path.relative(ROOT, args.importer)}) has no browser implementation in src/web/platform/`,
                  },
                ],
              };
            return undefined;
          });
        },
      },
    ],
  });
  for (const f of ['index.html', 'studio.css']) copyFileSync(path.join(ROOT, 'web', f), path.join(outDir, f));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildWeb().catch((e: Error) => {
    process.stderr.write(`buildWeb: ${e.message}\n`);
    process.exit(1);
  });
}
