// Incremental decoding with a KvCache gives the logits of the full forward pass,
// for every family (positions, caches and causal masks line up).
import path from 'node:path';
import { describe, test } from 'node:test';
import { KvCache } from '../../src/models/kvCache.js';
import { loadModel } from '../../src/models/load.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { slice } from '../../src/tensor/ops/shape.js';
import { assertClose } from '../helpers/tolerance.js';
import { backendsUnderTest, fixtureNames, fixturesDir, idsTensor, readExpected } from './fixtures.js';

for (const backend of backendsUnderTest()) {
  describe(`KV-cached forward on ${backend.name}`, () => {
    for (const name of fixtureNames()) {
      const { input_ids } = readExpected(name);
      const model = loadModel(path.join(fixturesDir, name), { backend });
      const ids = idsTensor(backend, input_ids);
      const full = noGrad(() => model.logits(ids)); // (B, T, V)
      const T = ids.dim(1);

      /** Feed the sequence in chunks ending at `ends`; compare each chunk's logits. */
      const check = (ends: number[]): void => {
        const cache = new KvCache(model.dims.numLayers);
        let start = 0;
        for (const end of ends) {
          const step = noGrad(() => model.logits(slice(ids, 1, start, end), cache)); // (B, end - start, V)
          assertClose(step.f32, slice(full, 1, start, end).f32, { dtype: 'f32', what: `${name} logits [${start}, ${end})` });
          start = end;
        }
      };

      test(`${name}: one token at a time`, () => check(Array.from({ length: T }, (_, i) => i + 1)));
      test(`${name}: prompt of 3, then one token at a time`, () => check([3, ...Array.from({ length: T - 3 }, (_, i) => i + 4)]));
    }
  });
}
