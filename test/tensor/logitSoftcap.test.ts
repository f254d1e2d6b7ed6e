// Gemma 2's final logit soft-capping inside the fused LM-head losses: chunked
// lmHeadCrossEntropy and lmHeadTokenNll with `softcap` equal the unfused
// crossEntropy(cap * tanh(h W^T / cap)), values and gradients (issue 18).
import { test } from 'node:test';
import { referenceBackend as be } from '../../src/backend/reference/index.js';
import { backward } from '../../src/tensor/autograd.js';
import { parameter, tensor } from '../../src/tensor/ops/creation.js';
import { crossEntropy, lmHeadCrossEntropy, lmHeadTokenNll } from '../../src/tensor/ops/crossEntropy.js';
import { add, mul, scale, softcap } from '../../src/tensor/ops/elementwise.js';
import { linear } from '../../src/tensor/ops/matmul.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import { slice } from '../../src/tensor/ops/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

const [N, D, V, CAP] = [7, 5, 11, 1.5];
const targets = tensor(be, [3, -100, 0, 10, 4, 4, 7], [N], 'i32');

function grads(loss: (h: Tensor, w: Tensor) => Tensor): Float32Array[] {
  const h = parameter(be, randn(N * D, 1), [N, D]);
  const w = parameter(
    be,
    randn(V * D, 2).map((x) => 2 * x),
    [V, D],
  ); // logits of a few units: the cap bites
  const l = loss(h, w);
  backward(l);
  return [l.f32.slice(), h.grad!.f32.slice(), w.grad!.f32.slice()];
}

function same(got: Float32Array[], want: Float32Array[], what: string): void {
  ['value', 'dh', 'dW'].forEach((part, i) => assertClose(got[i]!, want[i]!, { dtype: 'f32', what: `${what} ${part}` }));
}

test('lmHeadCrossEntropy with softcap equals crossEntropy of the capped logits (values, dh, dW)', () => {
  const want = grads((h, w) => crossEntropy(softcap(linear(h, w), CAP), targets));
  same(
    grads((h, w) => lmHeadCrossEntropy(h, w, targets, { softcap: CAP, chunkRows: 3 })),
    want,
    'fused',
  );
});

test('lmHeadTokenNll with softcap equals the per-token NLL of the capped logits', () => {
  const weights = tensor(be, randn(N, 3), [N]);
  const perToken = (h: Tensor, w: Tensor): Tensor => {
    // each kept row alone through crossEntropy (the mean over one target is its NLL)
    const logits = softcap(linear(h, w), CAP);
    let total: Tensor | null = null;
    for (let r = 0; r < N; r++) {
      const t = targets.i32[r]!;
      if (t === -100) continue; // an ignored token's NLL is 0
      const nll = scale(crossEntropy(slice(logits, 0, r, r + 1), tensor(be, [t], [1], 'i32')), weights.f32[r]!);
      total = total ? add(total, nll) : nll;
    }
    return total!;
  };
  const fused = (h: Tensor, w: Tensor): Tensor => sum(mul(lmHeadTokenNll(h, w, targets, { softcap: CAP, chunkRows: 2 }), weights));
  same(grads(fused), grads(perToken), 'token nll');
});
