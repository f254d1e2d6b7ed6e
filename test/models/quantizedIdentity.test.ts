// modelIdentity (the hash that ties a run and its adapter to the base) covers a quantized
// base's codes and scales (issue 17): the same base quantized another way, or another
// base that differs only in a quantized linear weight, is another identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/backend/index.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { loadModel } from '../../src/models/load.js';
import { modelIdentity } from '../../src/models/modelIdentity.js';
import { doubleQuantizeModel, quantizeModel } from '../../src/models/quantize.js';
import { Linear } from '../../src/nn/linear.js';
import { tinyModelFolder } from '../helpers/tinyFolder.js';

const backend = getBackend('reference');
const folder = tinyModelFolder(23, { dim: 64, hiddenDim: 128 });
const dense = (): CausalLM => loadModel(folder, { backend });

/** The base with its linear weights quantized to `format` (optionally after `edit`). */
function quantized(format: 'int8' | 'nf4' | 'q8_0' | 'q4_0', opts: { doubleQuant?: boolean; edit?: (m: CausalLM) => void } = {}): CausalLM {
  const m = dense();
  opts.edit?.(m);
  quantizeModel(m, format);
  if (opts.doubleQuant) doubleQuantizeModel(m);
  return m;
}

test('the identity of a quantized base covers its format, double quantization and codes', () => {
  const ids = new Map<string, string>([
    ['dense', modelIdentity(dense())],
    ['int8', modelIdentity(quantized('int8'))],
    ['nf4', modelIdentity(quantized('nf4'))],
    ['nf4 double-quant', modelIdentity(quantized('nf4', { doubleQuant: true }))],
    ['q8_0', modelIdentity(quantized('q8_0'))],
    ['q4_0', modelIdentity(quantized('q4_0'))],
  ]);
  assert.equal(new Set(ids.values()).size, ids.size, [...ids].map(([k, v]) => `${k} ${v}`).join('\n'));
  // deterministic: the same base quantized the same way is the same identity
  assert.equal(modelIdentity(quantized('q4_0')), ids.get('q4_0'));
  // a base that differs only inside one quantized weight (embeddings and norms equal)
  const nudge = (m: CausalLM) => {
    const lin = [...m.namedModules()].find(([p, l]) => l instanceof Linear && p.endsWith('mlp.down_proj'))![1] as Linear;
    const w = lin.weight.f32;
    for (let i = 0; i < w.length; i += 7) w[i] = -w[i]!;
  };
  for (const format of ['nf4', 'q8_0'] as const)
    assert.notEqual(modelIdentity(quantized(format, { edit: nudge })), ids.get(format), `${format}: codes differ, identity must too`);
});
