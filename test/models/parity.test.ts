// Our Llama, OPT and GPT-2 against reference logits computed in PyTorch
// (scripts/make_parity_fixtures.py), on every available backend, f32 and bf16.
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
 * overall scale (measured: rms 0.5-1%, worst 4% over these fixtures), whatever
 * the logit's own size: a near-zero logit is a dot product of O(1) terms that
 * cancel. So the absolute part of the tolerance is scaled by the logits' rms. */
function bf16Tolerance(expected: number[]): { rtol: number; atol: number } {
  return { rtol: TOLERANCES.bf16.rtol, atol: 0.05 * rms(expected) };
}

const backends = backendsUnderTest();
const names = fixtureNames();

test('every family has a parity fixture', () => {
  for (const family of ['llama', 'llama3', 'opt', 'opt_postln', 'gpt2']) assert.ok(names.includes(`${family}_tiny`), family);
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
            ...(dtype === 'bf16' ? bf16Tolerance(expected.logits) : {}),
          });
          if (dtype === 'bf16')
            assert.ok(rms(actual.map((v, i) => v - expected.logits[i]!)) < 0.02 * rms(expected.logits), `${name}: bf16 rms error`);
        });
      }
    }
  });
}
