// Our models against reference logits computed in PyTorch (scripts/make_parity_fixtures.py:
// Llama, OPT, GPT-2 written after the HF code; scripts/make_family_fixtures.py: Qwen3,
// Gemma 2/3, Phi-3, SmolLM2 by transformers' own classes), on every available backend,
// f32 and bf16.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadModel } from '../../src/models/load.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { cast } from '../../src/tensor/ops/creation.js';
import { assertClose, TOLERANCES } from '../helpers/tolerance.js';
import { backendsUnderTest, fixtureNames, fixturesDir, idsTensor, readExpected } from './fixtures.js';

function rms(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]! * xs[i]!;
  return Math.sqrt(s / xs.length);
}

/** bf16 weights and activations perturb every logit by about 1% of the logits'
 * overall scale (measured: rms 0.5-1%, worst 4% over the 2-layer fixtures), whatever
 * the logit's own size: a near-zero logit is a dot product of O(1) terms that
 * cancel. So the absolute part of the tolerance is scaled by the logits' rms. The
 * rounding errors add up over layers like a random walk: the 6-layer gemma3_tiny's
 * worst logit is off by 8% of the rms on both backends, so the bound grows with
 * sqrt(layers / 2). */
function bf16Tolerance(expected: number[], layers: number): { rtol: number; atol: number } {
  return { rtol: TOLERANCES.bf16.rtol, atol: 0.05 * rms(expected) * Math.sqrt(Math.max(1, layers / 2)) };
}

const backends = backendsUnderTest();
const names = fixtureNames();

test('every family has a parity fixture', () => {
  for (const family of ['llama', 'llama3', 'opt', 'opt_postln', 'gpt2', 'qwen3', 'gemma2', 'gemma3', 'phi3', 'smollm2'])
    assert.ok(names.includes(`${family}_tiny`), family);
});

for (const backend of backends) {
  describe(`parity on ${backend.name}`, () => {
    for (const name of names) {
      const expected = readExpected(name);
      for (const dtype of ['f32', 'bf16'] as const) {
        test(`${name} (${expected.note}) ${dtype}`, () => {
          const model = loadModel(path.join(fixturesDir, name), { backend, dtype });
          assert.equal(model.weightDtype, dtype);
          const logits = noGrad(() => model.logits(idsTensor(backend, expected.input_ids)));
          assert.deepEqual(logits.shape, expected.logits_shape);
          const actual = cast(logits, 'f32').f32;
          assertClose(actual, expected.logits, {
            dtype,
            what: `${name} logits (${dtype})`,
            ...(dtype === 'bf16' ? bf16Tolerance(expected.logits, model.dims.numLayers) : {}),
          });
          if (dtype === 'bf16') {
            const err = rms(actual.map((v, i) => v - expected.logits[i]!)) / rms(expected.logits);
            assert.ok(err < 0.02, `${name}: bf16 rms error ${err}`);
          }
        });
      }
    }
  });
}
