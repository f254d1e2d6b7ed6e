// Loading a large checkpoint (issue 3): write a random-weight folder shaped like
// facebook/opt-1.3b (bf16, sharded safetensors + index, written by our own writer),
// then, in a fresh process, load it and run one forward pass, reporting wall times
// and peak RSS against the bound of 1.3x the bf16 weight bytes.
//
//   npx tsc -p tsconfig.json
//   node dist/bench/loadCheckpoint.js write /tmp/opt-1.3b-random   # once (~2.6 GB)
//   node dist/bench/loadCheckpoint.js load /tmp/opt-1.3b-random [--backend native] [--tokens 128]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { getBackend, type BackendName } from '../src/backend/index.js';
import { loadModel, randomModel } from '../src/models/load.js';
import { saveModelFolder } from '../src/models/save.js';
import { noGrad } from '../src/tensor/autograd.js';
import { tensor } from '../src/tensor/ops/creation.js';
import { optConfig, PRESETS } from '../src/bench/trainStep.js';

/** facebook/opt-1.3b's shape and context length (the peer's opt-1.3b preset). */
export const OPT_1_3B_CONFIG = optConfig(PRESETS['opt-1.3b']!, 2048);

const MIB = 1024 * 1024;
const peakRssMib = (): number => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

function writeFolder(dir: string): void {
  const t0 = performance.now();
  const model = randomModel(OPT_1_3B_CONFIG, { backend: getBackend('native'), dtype: 'bf16', seed: 1, std: 0.02 });
  const t1 = performance.now();
  saveModelFolder(model, dir, { maxShardBytes: 1024 * MIB });
  const t2 = performance.now();
  const bytes = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  console.log(JSON.stringify({ wrote: dir, shards_mib: Math.round(bytes / MIB), init_s: (t1 - t0) / 1000, write_s: (t2 - t1) / 1000 }));
}

function loadFolder(dir: string, backendName: string, tokens: number): void {
  const weightBytes = weightFileBytes(dir);
  const t0 = performance.now();
  const model = loadModel(dir, { backend: getBackend(backendName as BackendName) });
  const t1 = performance.now();
  const rssAfterLoad = peakRssMib();
  const ids = tensor(
    model.lmHeadWeight().backend,
    Int32Array.from({ length: tokens }, (_, i) => (i * 7919) % model.dims.vocabSize),
    [1, tokens],
    'i32',
  );
  const logits = noGrad(() => model.logits(ids));
  const t2 = performance.now();
  const finite = logits.f32.every(Number.isFinite);
  const peak = peakRssMib();
  console.log(
    JSON.stringify({
      dir,
      backend: backendName,
      weight_dtype: model.weightDtype,
      weight_file_mib: Math.round(weightBytes / MIB),
      load_s: +((t1 - t0) / 1000).toFixed(2),
      forward_tokens: tokens,
      forward_s: +((t2 - t1) / 1000).toFixed(2),
      logits_finite: finite,
      peak_rss_after_load_mib: Math.round(rssAfterLoad),
      peak_rss_mib: Math.round(peak),
      peak_over_weights: +(peak / (weightBytes / MIB)).toFixed(3),
    }),
  );
}

function weightFileBytes(dir: string): number {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

const [mode, dir] = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
if (mode === 'write' && dir) writeFolder(dir);
else if (mode === 'load' && dir) loadFolder(dir, flag('backend', 'native'), Number(flag('tokens', '128')));
else {
  console.error('usage: node dist/bench/loadCheckpoint.js write|load DIR [--backend native|reference] [--tokens N]');
  process.exitCode = 2;
}
