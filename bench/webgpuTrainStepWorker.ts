// Browser side of bench/webgpuTrainStep.ts (a dedicated worker): LoRA training steps
// of a stories260K-shaped Llama (random weights) on the webgpu backend, counting the
// array bytes the channel moves per step, with frozen weights kept on the GPU
// (packMatmulB, the default) and without (the backend with packMatmulB removed:
// every product re-uploads its weight, as before issue 20's resident weights).

import type { Backend } from '../src/backend/backend.js';
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { DEFAULT_LORA_CONFIG } from '../src/lora/config.js';
import { applyLora } from '../src/lora/inject.js';
import { randomModel } from '../src/models/load.js';
import { AdamW } from '../src/optim/adamw.js';
import { tensor } from '../src/tensor/ops/creation.js';

/** stories260K (llama2.c): dim 64, 5 layers, 8 heads / 4 kv heads, hidden 172, vocab 512. */
const STORIES_260K = {
  model_type: 'llama',
  vocab_size: 512,
  hidden_size: 64,
  intermediate_size: 172,
  num_hidden_layers: 5,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  max_position_embeddings: 512,
  tie_word_embeddings: true,
};

interface StepTraffic {
  kept: boolean;
  step: number;
  calls: number;
  uploadBytes: number;
  downloadBytes: number;
  keptBytes: number;
  uploadByOp: Record<string, number>;
  loss: number;
  ms: number;
}

const post = (m: unknown) => (self as unknown as { postMessage(m: unknown): void }).postMessage(m);

async function main(): Promise<void> {
  const gpu = await createWebGpuBackend({ gpuWorkerUrl: new URL('./gpuWorker.js', self.location.href) });
  post({ kind: 'adapter', adapter: gpu.adapter });
  const rows: StepTraffic[] = [];
  const [batch, seq, steps] = [4, 64, 3];
  for (const kept of [false, true]) {
    const be: Backend = kept ? gpu.backend : { ...gpu.backend, packMatmulB: undefined };
    const model = randomModel(STORIES_260K, { backend: be, seed: 1, std: 0.02 });
    applyLora(model, { ...DEFAULT_LORA_CONFIG, r: 8, alpha: 16, targets: 'all-linear' }, 1);
    const params = model.trainableParameters().map(([, t]) => t);
    const opt = new AdamW(params, { lr: 1e-3 });
    const ids = Array.from({ length: batch * seq }, (_, i) => (i * 7 + 3) % STORIES_260K.vocab_size);
    const x = tensor(be, ids, [batch, seq], 'i32');
    const y = tensor(be, [...ids.slice(1), -100], [batch * seq], 'i32');
    for (let step = 1; step <= steps; step++) {
      const t0 = gpu.traffic();
      const start = performance.now();
      const loss = model.loss(x, y);
      loss.backward();
      opt.step();
      for (const p of params) p.grad = null;
      const t1 = gpu.traffic();
      rows.push({
        kept,
        step,
        calls: t1.calls - t0.calls,
        uploadBytes: t1.uploadBytes - t0.uploadBytes,
        downloadBytes: t1.downloadBytes - t0.downloadBytes,
        keptBytes: t1.keptBytes - t0.keptBytes,
        uploadByOp: Object.fromEntries(Object.entries(t1.uploadByOp).map(([k, v]) => [k, v - (t0.uploadByOp[k] ?? 0)])),
        loss: loss.item(),
        ms: performance.now() - start,
      });
      post({ kind: 'row', row: rows[rows.length - 1] });
    }
  }
  gpu.close();
  post({ kind: 'done', rows });
}

main().catch((err: Error) => post({ kind: 'fatal', error: `${err.message}\n${err.stack ?? ''}` }));
