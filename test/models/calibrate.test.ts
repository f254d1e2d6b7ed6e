// calibrateQuantize (issue 17, --quantize-calibration): the layers --quantize replaces get
// GPTQ codes from the inputs the model's own forward pass gives them. Invariants: the same
// layers as round-to-nearest are replaced (the LM head stays), the temporary input hooks
// are gone afterwards, the same calibration gives byte-identical weights, and the codes
// are not round-to-nearest's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/backend/index.js';
import { ColaError } from '../../src/errors.js';
import { calibrateQuantize, outerSum } from '../../src/models/calibrate.js';
import { GPTQ_MAX_IN } from '../../src/models/gptq.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { loadModel } from '../../src/models/load.js';
import { quantizableLinears, quantizeModel } from '../../src/models/quantize.js';
import { QuantizedLinear } from '../../src/nn/quantizedLinear.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { tinyModelFolder } from '../helpers/tinyFolder.js';

const backend = getBackend('reference');
const folder = tinyModelFolder(29, { dim: 64, hiddenDim: 128 });
const dense = (): CausalLM => loadModel(folder, { backend });

function weights(m: CausalLM): Map<string, QuantizedLinear['weight']> {
  return new Map(
    [...m.namedModules()].filter((e): e is [string, QuantizedLinear] => e[1] instanceof QuantizedLinear).map(([p, l]) => [p, l.weight]),
  );
}

function calibrated(format: 'nf4' | 'q4_0'): { model: CausalLM; tokens: number; hooked: object[] } {
  const model = dense();
  const hooked = quantizableLinears(model).map(([, l]) => l);
  const ids = Array.from({ length: 2 * 16 }, (_, i) => (i * 37 + 5) % 200);
  const r = calibrateQuantize(model, {
    format,
    examples: 2,
    forward: (m) => void m.hidden(tensor(backend, ids, [2, 16], 'i32')),
  });
  return { model, tokens: r.tokens, hooked };
}

test('calibrateQuantize replaces the layers --quantize does, removes its hooks, and is deterministic', () => {
  for (const format of ['nf4', 'q4_0'] as const) {
    const a = calibrated(format);
    const rtn = dense();
    quantizeModel(rtn, format);
    assert.deepEqual([...weights(a.model).keys()], [...weights(rtn).keys()], 'the same layers (not the LM head)');
    assert.equal(a.tokens, 32);
    assert.equal(a.model.quantizeOnLoad, format);
    assert.equal(a.model.quantizeCalibration, 2);
    for (const lin of a.hooked) assert.equal(Object.hasOwn(lin, 'forward'), false, 'the input hook is removed');
    assert.deepEqual(weights(calibrated(format).model), weights(a.model), `${format}: same calibration, same bytes`);
    const differ = [...weights(a.model)].filter(([p, w]) => !Buffer.from(w.data).equals(Buffer.from(weights(rtn).get(p)!.data)));
    assert.ok(differ.length > 0, `${format}: GPTQ chose other codes than round-to-nearest somewhere`);
  }
});

test('outerSum is X^T X, for even and odd widths', () => {
  for (const [rows, n] of [
    [5, 6],
    [7, 9],
    [1, 1],
  ] as const) {
    const X = Float32Array.from({ length: rows * n }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 3)));
    const got = outerSum(X, rows, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < rows; t++) s += X[t * n + i]! * X[t * n + j]!;
        assert.equal(got[i * n + j], s, `${rows} x ${n}: (${i}, ${j})`);
      }
  }
});

test('a layer wider than GPTQ_MAX_IN is refused before any forward pass, naming the layer and the fix', () => {
  const wide = loadModel(tinyModelFolder(31, { dim: 16, hiddenDim: GPTQ_MAX_IN + 8 }), { backend });
  let forwards = 0;
  assert.throws(
    () => calibrateQuantize(wide, { format: 'nf4', examples: 1, forward: () => void forwards++ }),
    (e: Error) =>
      e instanceof ColaError &&
      /down_proj takes 8200 inputs, over the 8192/.test(e.message) &&
      /drop --quantize-calibration/.test(e.message),
  );
  assert.equal(forwards, 0);
});
