import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { zeros } from './creation.js';

/** Fused scaled-dot-product attention with grouped-query heads.
 * q [B, Hq, Tq, D], k and v [B, Hkv, Tk, D] -> [B, Hq, Tq, D]. Causal masks keys
 * after each query's absolute position (Tk - Tq + i), so a KV cache works. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: { causal: boolean; scale?: number }): Tensor {
  const [batch, headsQ, seqQ, headDim] = q.shape as [number, number, number, number];
  const headsKv = k.dim(1);
  const seqKv = k.dim(2);
  if (headsQ % headsKv !== 0) throw new Error(`attention: ${headsQ} query heads not a multiple of ${headsKv} kv heads`);
  const args = { batch, headsQ, headsKv, seqQ, seqKv, headDim, scale: opts.scale ?? 1 / Math.sqrt(headDim), causal: opts.causal };
  const out = zeros(q.backend, q.shape);
  const lse = zeros(q.backend, [batch, headsQ, seqQ]);
  q.backend.attention(q.f32, k.f32, v.f32, out.f32, lse.f32, args);
  return record(out, 'attention', [q, k, v], (g) => {
    const dq = q.requiresGrad ? zeros(q.backend, q.shape) : null;
    const dk = k.requiresGrad ? zeros(q.backend, k.shape) : null;
    const dv = v.requiresGrad ? zeros(q.backend, v.shape) : null;
    q.backend.attentionBackward(q.f32, k.f32, v.f32, out.f32, lse.f32, g.f32, dq?.f32 ?? null, dk?.f32 ?? null, dv?.f32 ?? null, args);
    return [dq, dk, dv];
  });
}
