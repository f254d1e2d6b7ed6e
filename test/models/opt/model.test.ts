import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { referenceBackend } from '../../../src/backend/reference/index.js';
import { ColaError } from '../../../src/errors.js';
import { hasFinalLayerNorm, parseOptConfig } from '../../../src/models/opt/config.js';
import { OPTForCausalLM } from '../../../src/models/opt/model.js';
import { loadModel, randomModel } from '../../../src/models/load.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { tensor } from '../../../src/tensor/ops/creation.js';
import { editedFixture, fixtureConfig, fixturesDir, fixtureTensors } from '../fixtures.js';

const backend = referenceBackend;
const names = (name: string): string[] =>
  [...loadModel(path.join(fixturesDir, name), { backend }).namedParameters()].map(([n]) => n).sort();

test('opt state-dict keys equal the checkpoint keys (the tied lm_head.weight aside)', () => {
  const fileKeys = fixtureTensors('opt_tiny').map((t) => t.name);
  assert.ok(fileKeys.includes('lm_head.weight'));
  assert.deepEqual(names('opt_tiny'), fileKeys.filter((n) => n !== 'lm_head.weight').sort());
});

test('opt files saved from OPTModel (keys from decoder.) load under model.decoder.', () => {
  const fileKeys = fixtureTensors('opt_postln_tiny').map((t) => t.name);
  assert.ok(fileKeys.every((n) => n.startsWith('decoder.')));
  assert.deepEqual(names('opt_postln_tiny'), fileKeys.map((n) => `model.${n}`).sort());
});

test('opt modules follow the config: project_in/out, final_layer_norm, hidden width', () => {
  const pre = loadModel(path.join(fixturesDir, 'opt_tiny'), { backend }) as OPTForCausalLM;
  assert.equal(pre.model.decoder.project_in?.outFeatures, 24);
  assert.equal(pre.model.decoder.project_out?.outFeatures, 16);
  assert.notEqual(pre.model.decoder.final_layer_norm, null);
  const ids = tensor(backend, [1, 2, 3], [1, 3], 'i32');
  assert.deepEqual(noGrad(() => pre.hidden(ids)).shape, [1, 3, pre.dims.hiddenSize]);
  assert.equal(pre.dims.hiddenSize, 16); // the LM head's width, after project_out
  const post = loadModel(path.join(fixturesDir, 'opt_postln_tiny'), { backend }) as OPTForCausalLM;
  assert.equal(post.model.decoder.project_in, null);
  assert.equal(post.model.decoder.final_layer_norm, null);
});

test('opt without a final layer norm rejects a file that has one', () => {
  const dir = editedFixture('opt_tiny', (ts) => ts, { _remove_final_layer_norm: true });
  assert.throws(
    () => loadModel(dir, { backend }),
    (e: unknown) => e instanceof ColaError && e.message.includes('model.decoder.final_layer_norm.weight'),
  );
});

test('opt positions stop at max_position_embeddings (the table has 2 more rows)', () => {
  const model = randomModel(fixtureConfig('opt_postln_tiny'), { backend }) as OPTForCausalLM;
  assert.deepEqual(model.model.decoder.embed_positions.weight.shape, [16 + 2, 16], 'HF OPTLearnedPositionalEmbedding: offset 2');
  const ids = (n: number) => tensor(backend, new Array<number>(n).fill(3), [1, n], 'i32');
  assert.deepEqual(noGrad(() => model.logits(ids(16))).shape, [1, 16, 64]);
  assert.throws(() => noGrad(() => model.logits(ids(17))), /max_position_embeddings/);
});

test('opt config: defaults and errors naming the file and key', () => {
  const base = fixtureConfig('opt_postln_tiny');
  const cfg = parseOptConfig({ ...base, do_layer_norm_before: undefined, word_embed_proj_dim: undefined, hidden_size: 32 }, 'c.json');
  assert.equal(cfg.do_layer_norm_before, true);
  assert.equal(cfg.word_embed_proj_dim, 32);
  assert.equal(hasFinalLayerNorm(cfg), true);
  assert.equal(hasFinalLayerNorm({ ...cfg, _remove_final_layer_norm: true }), false);
  assert.throws(
    () => parseOptConfig({ ...base, activation_function: 'tanh' }, 'm/config.json'),
    (e: unknown) => e instanceof ColaError && /m\/config\.json.*activation_function/.test(e.message),
  );
  assert.throws(() => parseOptConfig({ ...base, layer_norm_elementwise_affine: false }, 'c.json'), /layer_norm_elementwise_affine/);
  assert.throws(() => parseOptConfig({ ...base, tie_word_embeddings: false }, 'c.json'), /tie_word_embeddings/);
  assert.throws(() => parseOptConfig({ ...base, ffn_dim: undefined }, 'c.json'), /"ffn_dim"/);
});
