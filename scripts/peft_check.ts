// Writes what scripts/verify_peft.py checks in Python with transformers + PEFT:
// for each tiny fixture family (llama, opt, gpt2, and issue 18's qwen3, gemma2, gemma3,
// phi3, smollm2), a COLA run of 3 links with
// rank step-down (adapter/ = the chain as one PEFT LoRA), the merged model folder,
// and our own logits for fixed token ids, with and without the adapter. llama_tiny also
// runs once per LoRA variant (issue 18: DoRA, PiSSA, OLoRA), so PEFT checks those exports.
//
//   npx tsc -p tsconfig.json && node dist/scripts/peft_check.js OUT_DIR
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceBackend as backend } from '../src/backend/reference/index.js';
import { runChain } from '../src/cola/run.js';
import { makeRunConfig } from '../src/cola/runConfig.js';
import type { LoraConfig } from '../src/lora/config.js';
import { mergeAndUnload } from '../src/lora/inject.js';
import { loadPeftAdapter } from '../src/lora/peftLoad.js';
import { loadModel } from '../src/models/load.js';
import { saveModelFolder } from '../src/models/save.js';
import { noGrad } from '../src/tensor/autograd.js';
import { tensor } from '../src/tensor/ops/creation.js';
import { MetricsLog } from '../src/train/metricsLog.js';
import { lmObjective } from '../src/train/objective.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/models');
const TARGETS: Record<string, string[]> = {
  llama_tiny: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  opt_tiny: ['q_proj', 'v_proj', 'fc1', 'fc2'],
  gpt2_tiny: ['c_attn', 'c_proj', 'c_fc'],
  qwen3_tiny: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gemma2_tiny: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gemma3_tiny: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  phi3_tiny: ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj'],
  smollm2_tiny: ['q_proj', 'v_proj'],
};
const IDS = [
  [1, 5, 9, 13, 17, 21, 25, 29],
  [2, 4, 8, 16, 32, 3, 6, 12],
];

function logits(dir: string, adapter?: string): number[] {
  const model = loadModel(dir, { backend });
  if (adapter) loadPeftAdapter(model, adapter);
  return [...noGrad(() => model.logits(tensor(backend, IDS.flat(), [2, 8], 'i32'))).f32];
}

const VARIANTS: Record<string, Partial<LoraConfig>> = {
  dora: { useDora: true },
  pissa: { init: 'pissa' },
  olora: { init: 'olora' },
};

function check(name: string, out: string, variant?: string): void {
  const base = path.join(fixtures, name);
  const run = path.join(out, variant ? `${name}-${variant}` : name);
  fs.rmSync(run, { recursive: true, force: true });
  const examples = Array.from({ length: 16 }, (_, i) => {
    const ids = Array.from({ length: 8 }, (_, t) => 1 + ((i * 5 + t * 7) % 40));
    return { ids, lossMask: ids.map((_, t) => (t === 0 ? 0 : 1)), text: '' };
  });
  const model = loadModel(base, { backend });
  runChain(
    makeRunConfig(
      {
        method: 'cola',
        out: run,
        seed: 1,
        epochs: 3,
        batchSize: 4,
        lr: 3e-2,
        schedule: 'constant',
        maxGradNorm: 0,
        chainLength: 3,
        linkRanks: ['4', '4', '2'],
        saveEvery: 0,
      },
      {},
      { lora: { r: 4, alpha: 8, targets: TARGETS[name]!, ...(variant ? VARIANTS[variant] : {}) } },
    ),
    {
      model,
      objective: lmObjective(examples, 0),
      metric: { name: 'perplexity', higherIsBetter: false },
      log: new MetricsLog(run),
      shouldStop: () => false,
      baseModel: base,
    },
  );
  mergeAndUnload(model);
  saveModelFolder(model, path.join(run, 'merged'));
  const expected = {
    ids: IDS,
    base: logits(base),
    adapter: logits(base, path.join(run, 'adapter')),
    merged: logits(path.join(run, 'merged')),
  };
  fs.writeFileSync(path.join(run, 'expected.json'), JSON.stringify(expected));
  console.log(`${name}: wrote ${run}`);
}

const out = process.argv[2] ?? '/tmp/cola-peft-check';
for (const name of Object.keys(TARGETS)) check(name, out);
for (const variant of Object.keys(VARIANTS)) check('llama_tiny', out, variant);
