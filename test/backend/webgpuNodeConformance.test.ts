// The webgpu backend in Node (Dawn's npm package `webgpu`; SwiftShader where there
// is no GPU) against the reference: the same cases the Chromium run uses
// (conformanceSuite.ts, test/browser/webgpuBackendCases.ts). Skips, saying why, when
// the package or an adapter is missing (docs/WEBGPU.md says how to get one).

import { after, describe } from 'node:test';
import type { WebGpuBackend } from '../../src/backend/webgpu/index.js';
import { SHADER_F16 } from '../../src/backend/webgpu/weightStorage.js';
import { createWebGpuNodeBackend } from '../../src/backend/webgpuNode/index.js';
import { ColaError } from '../../src/errors.js';
import { webgpuBackendCases, type F16Setup } from '../browser/webgpuBackendCases.js';
import { conformanceSuite } from './conformanceSuite.js';

let gpu: WebGpuBackend | null = null;
let skip: string | false = false;
try {
  gpu = createWebGpuNodeBackend();
} catch (err) {
  if (!(err instanceof ColaError)) throw err;
  skip = `webgpu in Node unavailable: ${err.message}`;
}

/** What weightStorage 'f16' / 'auto' do on this adapter (the cases are synchronous: set up here). */
function f16Setup(g: WebGpuBackend): F16Setup {
  const setup: F16Setup = { f16: null, refusal: null, auto: { storage: '', note: null } };
  if (g.features.includes(SHADER_F16)) {
    setup.f16 = createWebGpuNodeBackend({ weightStorage: 'f16' });
    return setup;
  }
  try {
    createWebGpuNodeBackend({ weightStorage: 'f16' }).close();
  } catch (err) {
    setup.refusal = (err as Error).message;
  }
  const auto = createWebGpuNodeBackend({ weightStorage: 'auto' });
  setup.auto = { storage: auto.weightStorage, note: auto.weightStorageNote };
  auto.close();
  return setup;
}

conformanceSuite({
  title: `webgpu backend conformance in Node (${gpu?.adapter ?? 'no adapter'})`,
  subject: gpu?.backend ?? null,
  skip,
  checksArguments: false,
  exactDropoutValues: false,
  skipLargeProducts: true,
});

if (gpu) {
  const setup = f16Setup(gpu);
  webgpuBackendCases(gpu, setup);
  after(() => {
    gpu?.close();
    setup.f16?.close();
  });
} else {
  describe('webgpu kept weights and f16 storage in Node', { skip }, () => {});
}
