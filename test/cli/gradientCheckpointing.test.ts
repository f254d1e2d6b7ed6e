// `cola train --gradient-checkpointing` (issue #7): the same run as without it, up to
// rounding, and clear errors where it cannot apply.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { syntheticText } from '../../src/api/syntheticText.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { randomModel } from '../../src/models/load.js';
import { saveModelFolder } from '../../src/models/save.js';
import { cola } from './harness.js';

const dir = makeTmpDir('gradient-checkpointing');
const llamaDir = writeTinyModelFolder(path.join(dir, 'llama'), { seed: 3, context: 32 });
const optDir = tinyOptFolder(path.join(dir, 'opt'));

/** A random 3-layer OPT with the tiny Llama folder's tokenizer (no OPT fixture has one). */
function tinyOptFolder(out: string): string {
  const vocab = (JSON.parse(fs.readFileSync(path.join(llamaDir, 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size;
  const config = {
    model_type: 'opt',
    vocab_size: vocab,
    hidden_size: 32,
    word_embed_proj_dim: 32,
    ffn_dim: 64,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    max_position_embeddings: 32,
    activation_function: 'relu',
    do_layer_norm_before: true,
    enable_bias: true,
    bos_token_id: 1,
    eos_token_id: 2,
  };
  fs.mkdirSync(out, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
    fs.copyFileSync(path.join(llamaDir, f), path.join(out, f));
  saveModelFolder(randomModel(config, { backend: referenceBackend, seed: 4, std: 0.1 }), out);
  return out;
}
const data = path.join(dir, 'train.txt');
fs.writeFileSync(data, syntheticText('verse', 24, 1));
const common = [
  '--data',
  data,
  '--method',
  'cola',
  '--chain-length',
  '2',
  '--max-steps',
  '4',
  '--batch-size',
  '4',
  '--max-length',
  '24',
  '--lr',
  '0.01',
  '--quiet',
];

function losses(out: string): number[] {
  const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  return lines.map((l) => JSON.parse(l) as { loss?: number }).flatMap((r) => (r.loss === undefined ? [] : [r.loss]));
}

for (const [family, model] of [
  ['OPT', optDir],
  ['Llama', llamaDir],
] as const)
  test(`cola train --gradient-checkpointing follows the same loss curve on ${family}`, () => {
    const plain = path.join(dir, `plain-${family}`);
    const ckpt = path.join(dir, `ckpt-${family}`);
    assert.equal(cola(['train', '--model', model, ...common, '--out', plain]).status, 0);
    const r = cola(['train', '--model', model, ...common, '--gradient-checkpointing', '--out', ckpt]);
    assert.equal(r.status, 0, r.stderr);
    const [a, b] = [losses(plain), losses(ckpt)];
    assert.equal(a.length, 4);
    assert.equal(b.length, a.length);
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) <= 1e-4 * Math.abs(x), `step ${i + 1}: ${x} vs ${b[i]}`));
  });

test('--gradient-checkpointing: a clear error for LoRA dropout', () => {
  const opt = cola([
    'train',
    '--model',
    optDir,
    ...common,
    '--gradient-checkpointing',
    '--lora-dropout',
    '0.1',
    '--out',
    path.join(dir, 'e1'),
  ]);
  assert.notEqual(opt.status, 0);
  assert.match(opt.stderr, /--gradient-checkpointing needs --lora-dropout 0/);
  assert.doesNotMatch(opt.stderr, /\n\s+at /, 'no stack trace');
});
