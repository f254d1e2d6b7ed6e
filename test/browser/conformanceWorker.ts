// The browser side of test/browser/webgpuConformance.test.ts, bundled by
// test/browser/build.ts: in a dedicated worker, starts the webgpu backend and runs
// the conformance cases of test/backend/conformanceSuite.ts against the reference,
// posting each case's result to the page.

import { describe } from 'node:test';
import { createWebGpuBackend } from '../../src/backend/webgpu/index.js';
import { conformanceSuite } from '../backend/conformanceSuite.js';
import { runCases, type CaseResult } from './shims/nodeTest.js';

export type WorkerMessage =
  | { kind: 'adapter'; adapter: string; features: string[] }
  | { kind: 'case'; result: CaseResult }
  | { kind: 'done' }
  | { kind: 'fatal'; error: string };

const post = (m: WorkerMessage) => (self as unknown as { postMessage(m: WorkerMessage): void }).postMessage(m);

async function main(): Promise<void> {
  const filter = new URL(self.location.href).searchParams.get('filter') ?? '';
  const gpu = await createWebGpuBackend({ gpuWorkerUrl: new URL('./gpuWorker.js', self.location.href) });
  post({ kind: 'adapter', adapter: gpu.adapter, features: gpu.features });
  describe('webgpu', () =>
    conformanceSuite({
      title: 'backend conformance',
      subject: gpu.backend,
      skip: false,
      checksArguments: false,
      exactDropoutValues: false,
      skipLargeProducts: true,
    }));
  runCases(filter, (result) => post({ kind: 'case', result }));
  gpu.close();
  post({ kind: 'done' });
}

// `node --test dist/test/` also loads this file: outside a worker there is nothing to run.
if (typeof self !== 'undefined') main().catch((err: Error) => post({ kind: 'fatal', error: `${err.message}\n${err.stack ?? ''}` }));
