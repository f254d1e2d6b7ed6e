// Rotary embedding and token embedding (forward, scatter-add backward).

import { FLAT_ENTRY, FLAT_INDEX, flatGroups, Params, type Kernel } from '../device.js';
import type { Launcher } from './types.js';

// One thread per (b, t, h) row of x [B, T, H, D]. P = [rows, seq, heads, headDim, rotaryDim, pairs, inverse]
const ROPE: Kernel = {
  arrays: ['x', 'out', 'positions:i32', 'cosT', 'sinT'],
  code: `${FLAT_ENTRY} {
 let r = ${FLAT_INDEX};
 if (r >= pu(0)) { return; }
 let t = (r / pu(2)) % pu(1);
 let D = pu(3);
 let half = pu(4) / 2u;
 let o = r * D;
 let table = u32(positions[t]) * half;
 let sign = select(1.0, -1.0, pu(6) != 0u);
 for (var i = 0u; i < half; i++) {
   var i1 = i;
   var i2 = i + half;
   if (pu(5) != 0u) { i1 = 2u * i; i2 = 2u * i + 1u; }
   let c = cosT[table + i];
   let s = sign * sinT[table + i];
   let x1 = x[o + i1];
   let x2 = x[o + i2];
   out[o + i1] = x1 * c - x2 * s;
   out[o + i2] = x2 * c + x1 * s;
 }
 for (var d = pu(4); d < D; d++) { out[o + d] = x[o + d]; }
}`,
};
// P = [n * dim, dim]; a bit copy (bf16 tables arrive widened, exact)
const EMBEDDING: Kernel = {
  arrays: ['w:u32', 'ids:i32', 'out:u32'],
  code: `${FLAT_ENTRY} {
 let i = ${FLAT_INDEX};
 if (i >= pu(0)) { return; }
 let dim = pu(1);
 out[i] = w[u32(ids[i / dim]) * dim + i % dim];
}`,
};
// One thread per column, ids in order: repeated ids add up as in the reference, no atomics. P = [dim, n]
const EMBEDDING_BACKWARD: Kernel = {
  arrays: ['ids:i32', 'dy', 'dw'],
  code: `${FLAT_ENTRY} {
 let d = ${FLAT_INDEX};
 let dim = pu(0);
 if (d >= dim) { return; }
 for (var i = 0u; i < pu(1); i++) {
   let at = u32(ids[i]) * dim + d;
   dw[at] = dw[at] + dy[i * dim + d];
 }
}`,
};

export const transformerKernels: Record<string, Launcher> = {
  rope: ({ call, p, bufs }) => {
    const rows = p.batch * p.seq * p.heads;
    const params = new Params()
      .u(rows)
      .u(p.seq)
      .u(p.heads)
      .u(p.headDim)
      .u(p.rotaryDim)
      .u(p.layout === 'pairs' ? 1 : 0)
      .u(p.inverse ? 1 : 0);
    call.dispatch(ROPE, params, bufs, flatGroups(rows));
  },
  embedding: ({ call, p, bufs, lengths }) => call.dispatch(EMBEDDING, new Params().u(lengths[2]!).u(p.dim), bufs, flatGroups(lengths[2]!)),
  embeddingBackward: ({ call, p, bufs, lengths }) =>
    call.dispatch(EMBEDDING_BACKWARD, new Params().u(p.dim).u(lengths[0]!), bufs, flatGroups(p.dim)),
};
