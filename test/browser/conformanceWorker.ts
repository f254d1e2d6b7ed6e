// The browser side of test/browser/webgpuConformance.test.ts, bundled by
// test/browser/build.ts: in a dedicated worker, starts the webgpu backend and runs
// the conformance cases of test/backend/conformanceSuite.ts against the reference,
// posting each case's result to the page.

import { describe } from 'node:test';
import { createWebGpuBackend } from '../../src/backend/webgpu/index.js';
import { SHADER_F16 } from '../../src/backend/webgpu/weightStorage.js';
import { conformanceSuite } from '../backend/conformanceSuite.js';
import { webgpuBackendCases, type F16Setup } from './webgpuBackendCases.js';
import { runCases, type CaseResult } from './shims/nodeTest.js';

export type WorkerMessage =
  | { kind: 'adapter'; adapter: string; features: string[] }
  | { kind: 'case'; result: CaseResult }
  | { kind: 'done' }
  | { kind: 'fatal'; error: string };

const post = (m: WorkerMessage) => (self as unknown as { postMessage(m: WorkerMessage): void }).postMessage(m);

async function main(): Promise<void> {
  const filter = new URL(self.location.href).searchParams.get('filter') ?? '';
  const gpuWorkerUrl = new URL('./gpuWorker.js', self.location.href);
  const gpu = await createWebGpuBackend({ gpuWorkerUrl });
  post({ kind: 'adapter', adapter: gpu.adapter, features: gpu.features });
  // f16 storage of kept weights: a second backend where the adapter offers it, else
  // what asking for it says (the cases are synchronous: set up here)
  const setup: F16Setup = { f16: null, refusal: null, auto: { storage: '', note: null } };
  if (gpu.features.includes(SHADER_F16)) setup.f16 = await createWebGpuBackend({ gpuWorkerUrl, weightStorage: 'f16' });
  else {
    setup.refusal = await createWebGpuBackend({ gpuWorkerUrl, weightStorage: 'f16' }).then(
      (b) => (b.close(), null),
      (err: Error) => err.message,
    );
    const auto = await createWebGpuBackend({ gpuWorkerUrl, weightStorage: 'auto' });
    setup.auto = { storage: auto.weightStorage, note: auto.weightStorageNote };
    auto.close();
  }
  describe('webgpu', () =>
    conformanceSuite({
      title: 'backend conformance',
      subject: gpu.backend,
      skip: false,
      checksArguments: false,
      exactDropoutValues: false,
      skipLargeProducts: true,
    }));
  describe('webgpu', () => webgpuBackendCases(gpu, setup));
  runCases(filter, (result) => post({ kind: 'case', result }));
  gpu.close();
  setup.f16?.close();
  post({ kind: 'done' });
}

// `node --test dist/test/` also loads this file: outside a worker there is nothing to run.
if (typeof self !== 'undefined') main().catch((err: Error) => post({ kind: 'fatal', error: `${err.message}\n${err.stack ?? ''}` }));
