import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { referenceBackend } from '../../../src/backend/reference/index.js';
import { ColaError } from '../../../src/errors.js';
import { GPT2LMHeadModel } from '../../../src/models/gpt2/model.js';
import { attentionScale, parseGpt2Config } from '../../../src/models/gpt2/config.js';
import { loadModel, randomModel } from '../../../src/models/load.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { tensor } from '../../../src/tensor/ops/creation.js';
import { editedFixture, fixtureConfig, fixturesDir, fixtureTensors, idsTensor, readExpected } from '../fixtures.js';

const backend = referenceBackend;
const BUFFER = /\.attn\.bias$/; // causal-mask buffers the loader ignores

test('gpt2 state-dict keys are the checkpoint keys with the transformer. prefix', () => {
  const model = loadModel(path.join(fixturesDir, 'gpt2_tiny'), { backend });
  const fileKeys = fixtureTensors('gpt2_tiny')
    .map((t) => t.name)
    .filter((n) => !BUFFER.test(n));
  assert.deepEqual([...model.namedParameters()].map(([n]) => n).sort(), fileKeys.map((n) => `transformer.${n}`).sort());
});

test('gpt2 loads keys with and without the transformer. prefix to the same logits', () => {
  const { input_ids } = readExpected('gpt2_tiny');
  const prefixed = editedFixture('gpt2_tiny', (ts) =>
    ts.filter((t) => !BUFFER.test(t.name)).map((t) => ({ ...t, name: `transformer.${t.name}` })),
  );
  const logits = (dir: string): Float32Array => noGrad(() => loadModel(dir, { backend }).logits(idsTensor(backend, input_ids))).f32;
  assert.deepEqual(logits(prefixed), logits(path.join(fixturesDir, 'gpt2_tiny')));
});

test('gpt2 Conv1D weights become Linear [out, in] under their checkpoint names', () => {
  const model = loadModel(path.join(fixturesDir, 'gpt2_tiny'), { backend }) as GPT2LMHeadModel;
  const cAttn = model.transformer.h[0]!.attn.c_attn;
  assert.equal(cAttn.inFeatures, 16);
  assert.equal(cAttn.outFeatures, 48);
  const stored = fixtureTensors('gpt2_tiny').find((t) => t.name === 'h.0.attn.c_attn.weight')!; // (16, 48)
  const weight = [...model.namedParameters()].find(([n]) => n === 'transformer.h.0.attn.c_attn.weight')![1]; // (48, 16)
  const s = stored.data as Float32Array;
  for (const [o, i] of [
    [0, 0],
    [5, 3],
    [47, 15],
    [20, 9],
  ] as const)
    assert.equal(weight.f32[o * 16 + i], s[i * 48 + o]);
});

test('gpt2 with tie_word_embeddings false needs lm_head.weight', () => {
  const dir = editedFixture('gpt2_tiny', (ts) => ts, { tie_word_embeddings: false });
  assert.throws(
    () => loadModel(dir, { backend }),
    (e: unknown) => e instanceof ColaError && e.message.includes('lm_head.weight [64, 16]'),
  );
});

test('gpt2 config: defaults, attention scales and errors naming the key', () => {
  const cfg = parseGpt2Config(fixtureConfig('gpt2_tiny'), 'config.json');
  assert.equal(cfg.n_inner, 64); // null -> 4 * n_embd
  assert.equal(attentionScale(cfg, 1), 0.5); // head_dim 4
  assert.equal(attentionScale({ ...cfg, scale_attn_by_inverse_layer_idx: true }, 1), 0.25);
  assert.equal(attentionScale({ ...cfg, scale_attn_weights: false }, 0), 1);
  const bad = { ...fixtureConfig('gpt2_tiny'), activation_function: 'swish' };
  assert.throws(
    () => parseGpt2Config(bad, 'x/config.json'),
    (e: unknown) => e instanceof ColaError && /x\/config\.json.*activation_function/.test(e.message),
  );
  assert.throws(() => parseGpt2Config({ ...bad, activation_function: 'gelu', n_head: 5 }, 'c.json'), ColaError);
});

test('gpt2 random model trains: the loss reaches a Conv1D weight', () => {
  const model = randomModel(fixtureConfig('gpt2_tiny'), { backend, seed: 3 }) as GPT2LMHeadModel;
  const weight = (model.transformer.h[1]!.attn.c_attn as unknown as { weight: { requiresGrad: boolean } }).weight;
  weight.requiresGrad = true;
  const ids = tensor(backend, [1, 2, 3, 4, 5, 6], [2, 3], 'i32');
  const targets = tensor(backend, [2, 3, 4, 5, 6, -100], [2, 3], 'i32');
  const loss = model.loss(ids, targets);
  assert.ok(Math.abs(loss.item() - Math.log(64)) < 0.5, `loss ${loss.item()} of a near-uniform model`);
  loss.backward();
  const params = [...model.namedParameters()].filter(([, t]) => t.grad);
  assert.deepEqual(
    params.map(([n]) => n),
    ['transformer.h.1.attn.c_attn.weight'],
  );
  assert.deepEqual(params[0]![1].grad!.shape, [48, 16]);
  assert.ok(params[0]![1].grad!.f32.some((g) => g !== 0));
});
