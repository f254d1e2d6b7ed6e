// Backend selection: native (C++ on oneDNN) when built, else the reference.
// COLA_BACKEND=native|reference|webgpu overrides the default. 'webgpu' in Node runs
// the WGSL kernels over Dawn's npm package `webgpu` (webgpuNode/, issue 20); in a
// browser worker it is made by webgpu/index.ts createWebGpuBackend instead.

import { ColaError } from '../errors.js';
import type { Backend } from './backend.js';
import { loadNativeBackend, nativeLoadError } from './native/index.js';
import { referenceBackend } from './reference/index.js';
import { webgpuNodeBackend } from './webgpuNode/index.js';

export type BackendName = 'native' | 'reference' | 'webgpu';

// In a clone: npm run build:native. Installed as a dependency: npm rebuild cola-lora
// (npm 11 runs a dependency's install script only once approved).
const BUILD_HINT =
  'build it with `npm run build:native` in a clone, or `npm rebuild cola-lora` where cola-lora is a dependency (needs `apt-get install g++ make libdnnl-dev`; the prebuilt binary needs `libdnnl2`)';
let warned = false;

/** The backend to run on. `name` (or COLA_BACKEND) picks one explicitly: asking
 * for native when it is not built throws. With neither, native is the default
 * and a missing addon falls back to the reference with one warning on stderr. */
export function getBackend(name?: BackendName): Backend {
  const requested = name ?? parseEnv(process.env.COLA_BACKEND);
  if (requested === 'reference') return referenceBackend;
  if (requested === 'webgpu') return webgpuNodeBackend().backend;
  const native = loadNativeBackend();
  if (native) return native;
  if (requested === 'native') {
    throw new ColaError(`the native backend was requested but is not available (${nativeLoadError()}); ${BUILD_HINT}`);
  }
  if (!warned) {
    warned = true;
    process.stderr.write(
      `cola: native backend not available (${nativeLoadError()}); using the slow reference backend. To fix: ${BUILD_HINT}\n`,
    );
  }
  return referenceBackend;
}

function parseEnv(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'native' || value === 'reference' || value === 'webgpu') return value;
  throw new ColaError(`COLA_BACKEND must be "native", "reference" or "webgpu", got "${value}"; unset it to use the default`);
}
