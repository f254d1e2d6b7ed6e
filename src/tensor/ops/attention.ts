import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';

/** Options of attention(): `window` and `softcap` as in AttentionShape (backend.ts). */
export interface AttentionOptions {
  causal: boolean;
  scale?: number;
  layout?: 'bhtd' | 'bthd';
  /** sliding window (keys at positions <= p - window are hidden); needs causal */
  window?: number;
  /** logit soft-capping: scores -> softcap * tanh(scores / softcap) (Gemma 2) */
  softcap?: number;
  /** [B, Tq]: each query's first visible key (packed sequences, issue 18) */
  keyStart?: Int32Array;
}

/** Fused scaled-dot-product attention with grouped-query heads.
 * q [B, Hq, Tq, D], k and v [B, Hkv, Tk, D] -> [B, Hq, Tq, D]; with layout 'bthd',
 * q [B, Tq, Hq, D], k and v [B, Tk, Hkv, D] -> [B, Tq, Hq, D] (linear outputs
 * viewed as heads: no transposes). Causal masks keys after each query's absolute
 * position (Tk - Tq + i), so a KV cache works. keyStart [B, Tq] (packed sequences,
 * issue 18) also masks the keys before each query's first key. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const bthd = opts.layout === 'bthd';
  const [batch, headsQ, seqQ, headDim] = (bthd ? [q.dim(0), q.dim(2), q.dim(1), q.dim(3)] : q.shape) as [number, number, number, number];
  const headsKv = k.dim(bthd ? 2 : 1);
  const seqKv = k.dim(bthd ? 1 : 2);
  if (headsQ % headsKv !== 0) throw new Error(`attention: ${headsQ} query heads not a multiple of ${headsKv} kv heads`);
  const scale = opts.scale ?? 1 / Math.sqrt(headDim);
  const args = {
    batch,
    headsQ,
    headsKv,
    seqQ,
    seqKv,
    headDim,
    scale,
    causal: opts.causal,
    layout: opts.layout ?? 'bhtd',
    ...(opts.keyStart !== undefined ? { keyStart: opts.keyStart } : {}),
    ...(opts.window !== undefined ? { window: opts.window } : {}),
    ...(opts.softcap !== undefined ? { softcap: opts.softcap } : {}),
  };
  const out = empty(q.backend, q.shape);
  const lse = empty(q.backend, [batch, headsQ, seqQ]);
  q.backend.attention({ q: q.f32, k: k.f32, v: v.f32, out: out.f32, lse: lse.f32, ...args });
  return record(out, 'attention', [q, k, v], (g) => {
    const dq = q.requiresGrad ? empty(q.backend, q.shape) : null;
    const dk = k.requiresGrad ? empty(q.backend, k.shape) : null;
    const dv = v.requiresGrad ? empty(q.backend, v.shape) : null;
    q.backend.attentionBackward({
      q: q.f32,
      k: k.f32,
      v: v.f32,
      out: out.f32,
      lse: lse.f32,
      dOut: g.f32,
      dq: dq?.f32 ?? null,
      dk: dk?.f32 ?? null,
      dv: dv?.f32 ?? null,
      ...args,
    });
    return [dq, dk, dv];
  });
}
