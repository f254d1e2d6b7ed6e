// Issue 18: the config.json of the new families, read in both spellings (the hub's
// rope_theta/rope_scaling, transformers 5's rope_parameters/layer_types), each feature
// of a fixture shown to matter, and the configs cola cannot follow refused clearly.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { referenceBackend as be } from '../../src/backend/reference/index.js';
import { ColaError } from '../../src/errors.js';
import { GemmaForCausalLM } from '../../src/models/gemma/model.js';
import { loadModel, randomModel } from '../../src/models/load.js';
import { saveModelFolder } from '../../src/models/save.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { editedFixture, fixtureConfig, fixturesDir, idsTensor, readExpected } from './fixtures.js';

const NEW = ['qwen3_tiny', 'gemma2_tiny', 'gemma3_tiny', 'phi3_tiny', 'smollm2_tiny'];

function logitsOf(dir: string, name: string): Float32Array {
  return noGrad(() => loadModel(dir, { backend: be }).logits(idsTensor(be, readExpected(name).input_ids))).f32;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

for (const name of NEW) {
  test(`${name}: the config as transformers 5 saves it builds the same model as the hub's spelling`, () => {
    const dir = makeTmpDir(`v5-${name}`);
    copyFileSync(path.join(fixturesDir, name, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    copyFileSync(path.join(fixturesDir, name, 'config.transformers5.json'), path.join(dir, 'config.json'));
    const v5 = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(v5['rope_parameters'] && !('rope_theta' in v5), 'the v5 file spells RoPE as rope_parameters only');
    assert.deepEqual(logitsOf(dir, name), logitsOf(path.join(fixturesDir, name), name));
  });
}

/** Config edits that switch one feature off: the logits must move (so parity tests it). */
const FEATURES: [string, string, Record<string, unknown>][] = [
  ['gemma2_tiny', 'sliding window', { sliding_window: 64 }],
  ['gemma2_tiny', 'attention soft-cap', { attn_logit_softcapping: null }],
  ['gemma2_tiny', 'final soft-cap', { final_logit_softcapping: null }],
  ['gemma2_tiny', 'query_pre_attn_scalar', { query_pre_attn_scalar: 8 }],
  ['gemma3_tiny', 'sliding window', { sliding_window: 64 }],
  ['gemma3_tiny', 'global layer RoPE scaling', { rope_scaling: null }],
  ['gemma3_tiny', 'local RoPE base', { rope_local_base_freq: 1e6 }],
  ['gemma3_tiny', '5:1 layer pattern', { sliding_window_pattern: 3 }],
  ['phi3_tiny', 'sliding window', { sliding_window: null }],
  ['phi3_tiny', 'partial rotary', { partial_rotary_factor: 1 }],
  ['qwen3_tiny', 'RoPE base', { rope_theta: 10000 }],
];

for (const [name, feature, change] of FEATURES) {
  test(`${name}: the fixture depends on its ${feature}`, () => {
    const want = readExpected(name).logits;
    assert.ok(maxDiff(logitsOf(path.join(fixturesDir, name), name), want) < 1e-4, 'as the fixture');
    const edited = editedFixture(name, (t) => t, change);
    assert.ok(maxDiff(logitsOf(edited, name), want) > 1e-2, `switching off the ${feature} changes the logits`);
  });
}

function refused(name: string, change: Record<string, unknown>, message: RegExp): void {
  const dir = editedFixture(name, (t) => t, change);
  assert.throws(
    () => loadModel(dir, { backend: be }),
    (e: unknown) => e instanceof ColaError && message.test(e.message) && e.message.includes('config.json'),
  );
}

test('configs cola cannot follow are refused, naming the file and the key', () => {
  refused('phi3_tiny', { rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [1] } }, /LongRoPE.*not supported/);
  refused('qwen3_tiny', { use_sliding_window: true }, /use_sliding_window true is not supported/);
  refused(
    'qwen3_tiny',
    { rope_scaling: { rope_type: 'yarn', factor: 4 } },
    /rope type "yarn" is not supported \(supported: default, linear, llama3\)/,
  );
  refused('gemma3_tiny', { layer_types: ['full_attention'] }, /"layer_types" must list/);
  refused('gemma2_tiny', { hidden_activation: 'swish' }, /hidden_activation.*supported/);
  refused('phi3_tiny', { partial_rotary_factor: 0.1 }, /partial_rotary_factor 0.1 gives a rotary width of 0 for head_dim 8/);
});

test("Gemma's embedding scale is sqrt(hidden_size) rounded to the embedding's dtype, as HF multiplies it", () => {
  const cfg = { ...fixtureConfig('gemma2_tiny'), hidden_size: 12, head_dim: 4, num_attention_heads: 3, num_key_value_heads: 1 };
  const f32 = randomModel(cfg, { backend: be, dtype: 'f32' }) as GemmaForCausalLM;
  const bf16 = randomModel(cfg, { backend: be, dtype: 'bf16' }) as GemmaForCausalLM;
  assert.equal(f32.embedScale(), Math.fround(Math.sqrt(12)));
  assert.equal(bf16.embedScale(), 3.46875); // sqrt(12) = 3.4641 in bf16 (8-bit mantissa: steps of 2^-6 in [2, 4))
});

test('a fixture config that parses writes back unchanged on export (the loader keeps the raw config)', () => {
  for (const name of NEW) {
    const model = loadModel(path.join(fixturesDir, name), { backend: be });
    assert.deepEqual(model.config, fixtureConfig(name));
  }
});

test('an exported config.json keeps the floats of the source file (transformers 5 refuses 3 for 3.0)', () => {
  const out = makeTmpDir('floats');
  saveModelFolder(loadModel(path.join(fixturesDir, 'gemma2_tiny'), { backend: be }), out);
  const text = readFileSync(path.join(out, 'config.json'), 'utf8');
  for (const key of ['final_logit_softcapping', 'attn_logit_softcapping', 'rope_theta'])
    assert.match(text, new RegExp(`"${key}": \\d+\\.0\\b`), key);
  assert.match(text, /"num_hidden_layers": 2,/);
  assert.match(text, /"rms_norm_eps": 0\.000001|"rms_norm_eps": 1e-6/);
  const gemma3 = makeTmpDir('floats3');
  saveModelFolder(loadModel(path.join(fixturesDir, 'gemma3_tiny'), { backend: be }), gemma3);
  assert.match(
    readFileSync(path.join(gemma3, 'config.json'), 'utf8'),
    /"rope_scaling": \{\n\s+"rope_type": "linear",\n\s+"factor": 8\.0\n/,
  );
  assert.deepEqual(JSON.parse(readFileSync(path.join(gemma3, 'config.json'), 'utf8')), {
    ...fixtureConfig('gemma3_tiny'),
    torch_dtype: 'float32',
  });
});
