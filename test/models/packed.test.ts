// Sequence packing (issue 18): several examples in one row, with positions restarting
// per example and attention kept inside each, compute what the examples compute in rows
// of their own: the same hidden states at every real token, the same loss (the mean over
// the batch's predicted tokens) and the same gradients, for every family and backend.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { collateLm } from '../../src/data/batching.js';
import type { LmExample } from '../../src/data/examples.js';
import { collatePacked } from '../../src/data/packing.js';
import { loadModel } from '../../src/models/load.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { lmObjective, packedLmObjective } from '../../src/train/objective.js';
import { randint } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';
import { backendsUnderTest, fixtureNames, fixturesDir } from './fixtures.js';

/** Random examples (ids 3..vocab-1) of the given lengths; the first token carries no
 * loss, some others none either (a prompt). */
function examples(lengths: number[], vocab: number): LmExample[] {
  return lengths.map((n, i) => {
    const ids = Array.from(randint(n, 100 + i, 3, Math.min(64, vocab)));
    return { ids, lossMask: ids.map((_, t) => (t === 0 || (i % 2 === 1 && t < n / 2) ? 0 : 1)), text: '' };
  });
}

function grads(model: CausalLM): Float32Array[] {
  return model.trainableParameters().map(([, t]) => Float32Array.from(t.grad!.f32));
}

function zeroGrads(model: CausalLM): void {
  for (const [, t] of model.trainableParameters()) t.grad = null;
}

for (const backend of backendsUnderTest()) {
  describe(`packed rows on ${backend.name}`, () => {
    for (const name of fixtureNames()) {
      const model = loadModel(path.join(fixturesDir, name), { backend });
      const capacity = Math.min(16, model.dims.maxPositions);
      const ex = examples([5, 3, 7, 2, 9, 4], model.dims.vocabSize);

      test(`${name}: hidden states at every real token equal the unpacked rows'`, () => {
        const packs = [
          [ex[0]!, ex[1]!, ex[2]!],
          [ex[4]!, ex[3]!],
        ];
        const packed = collatePacked(packs, 0);
        const h = noGrad(() =>
          model.hidden(tensor(backend, packed.inputIds, [packed.batch, packed.seqLen], 'i32'), undefined, packed.positions),
        );
        const d = h.dim(-1);
        packs.forEach((pack, b) => {
          let col = 0;
          for (const e of pack) {
            const alone = collateLm([e], 0);
            const ha = noGrad(() => model.hidden(tensor(backend, alone.inputIds, [1, alone.seqLen], 'i32')));
            const start = (b * packed.seqLen + col) * d;
            assertClose(h.f32.subarray(start, start + e.ids.length * d), ha.f32, { dtype: 'f32', what: `${name} row ${b} col ${col}` });
            col += e.ids.length;
          }
        });
      });

      test(`${name}: a packed batch gives the unpacked loss and gradients`, () => {
        model.requiresGrad(true);
        const plain = lmObjective(ex, 0);
        const packed = packedLmObjective(ex, 0, capacity);
        assert.ok(packed.size < plain.size, `${packed.size} packs for ${plain.size} examples`);
        assert.deepEqual(
          packed.packs.flat().sort(),
          ex.map((_, i) => i),
        );
        zeroGrads(model);
        const a = plain.loss(
          model,
          ex.map((_, i) => i),
        );
        a.loss.backward();
        const ga = grads(model);
        zeroGrads(model);
        const b = packed.loss(
          model,
          packed.packs.map((_, i) => i),
        );
        b.loss.backward();
        const gb = grads(model);
        zeroGrads(model);
        model.requiresGrad(false);
        assert.equal(b.tokens, a.tokens);
        assertClose([b.loss.item()], [a.loss.item()], { dtype: 'f32', what: `${name} loss` });
        gb.forEach((g, i) => assertClose(g, ga[i]!, { dtype: 'f32', what: `${name} grad ${i}`, atol: 1e-5 }));
      });
    }
  });
}
