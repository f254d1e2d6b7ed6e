// Scaled dot-product attention (causal or not, grouped-query heads, KV cache
// offsets, 'bhtd' or 'bthd' layouts, packed rows' per-query first key (keyStart,
// issue 18), sliding window, logit soft-capping), forward and backward, as
// reference/attention.ts (the specification: query i sees keys first(i)..visible(i)-1).
// Forward: one thread per query row, two passes over its visible keys (max and
// sum, then the weighted values with p = exp(s - lse)). Backward (FlashAttention-2
// style recomputation from lse): D_i = dOut_i . out_i, then dq per query row and
// dk, dv per key row (looping over the query rows of its head group that see it),
// so no atomics and a fixed summation order.

import { FLAT_ENTRY, FLAT_INDEX, flatGroups, Params, type Kernel } from '../device.js';
import { TANH } from './elementwise.js';
import type { Launcher } from './types.js';

// P = [B, Hq, Hkv, Tq, Tk, D, scale, causal, bthd, -inf bits, hasKeyStart, window (0: none),
//      softcap (0: none), hasDk, hasDv]
const HELPERS = /* wgsl */ `
fn qRow(b: u32, h: u32, t: u32) -> u32 {
  if (pu(8) != 0u) { return ((b * pu(3) + t) * pu(1) + h) * pu(5); }
  return ((b * pu(1) + h) * pu(3) + t) * pu(5);
}
fn kvRow(b: u32, h: u32, t: u32) -> u32 {
  if (pu(8) != 0u) { return ((b * pu(4) + t) * pu(2) + h) * pu(5); }
  return ((b * pu(2) + h) * pu(4) + t) * pu(5);
}
// keys 0..visible(i)-1 are seen by query i (absolute position Tk - Tq + i)
fn visible(i: u32) -> u32 {
  if (pu(7) == 0u) { return pu(4); }
  return u32(clamp(i32(pu(4)) - i32(pu(3)) + i32(i) + 1, 0, i32(pu(4))));
}
fn kvHead(h: u32) -> u32 { return h / (pu(1) / pu(2)); }
`;
// The first key query i of batch row b sees: keyStart's (packed rows), and a sliding
// window hides keys at positions <= p - window (p = Tk - Tq + i). Soft-capping: the
// score s = scale q.k becomes c tanh(s / c) (tanh_ through exp, saturated, as the
// unary kernel's); its derivative 1 - (s_capped / c)^2 scales ds.
const MASKS = /* wgsl */ `
fn firstKey(b: u32, i: u32) -> u32 {
  var lo = 0i;
  if (pu(10) != 0u) { lo = ks[b * pu(3) + i]; }
  if (pu(11) != 0u) { lo = max(lo, i32(pu(4)) - i32(pu(3)) + i32(i) - i32(pu(11)) + 1); }
  return u32(max(lo, 0));
}
${TANH}
fn capped(s: f32) -> f32 {
  if (pf(12) == 0.0) { return s; }
  return pf(12) * tanh_(s / pf(12));
}
fn capGrad(s: f32) -> f32 {
  if (pf(12) == 0.0) { return 1.0; }
  let t = s / pf(12);
  return 1.0 - t * t;
}
`;
const dot = (a: string, ao: string, b: string, bo: string) => `
   var s = 0.0;
   for (var d = 0u; d < D; d++) { s += ${a}[${ao} + d] * ${b}[${bo} + d]; }
   s = capped(s * pf(6));`;
const queryRow = `
 let rows = pu(0) * pu(1) * pu(3);
 let r = ${FLAT_INDEX};
 if (r >= rows) { return; }
 let i = r % pu(3);
 let h = (r / pu(3)) % pu(1);
 let b = r / (pu(3) * pu(1));
 let D = pu(5);
 let qo = qRow(b, h, i);
 let hk = kvHead(h);
 let cnt = visible(i);
 let lo = min(firstKey(b, i), cnt);`;

const FORWARD: Kernel = {
  arrays: ['q', 'k', 'v', 'out', 'lse', 'ks:i32'],
  code: `${HELPERS}${MASKS}
${FLAT_ENTRY} {${queryRow}
 for (var d = 0u; d < D; d++) { out[qo + d] = 0.0; }
 if (cnt == lo) { lse[r] = bitcast<f32>(pu(9)); return; }
 var mx = -3.0e38;
 var sum = 0.0;
 for (var j = lo; j < cnt; j++) {
   let ko = kvRow(b, hk, j);${dot('q', 'qo', 'k', 'ko')}
   if (s > mx) { sum = sum * exp(mx - s) + 1.0; mx = s; } else { sum += exp(s - mx); }
 }
 let l = mx + log(sum);
 lse[r] = l;
 for (var j = lo; j < cnt; j++) {
   let ko = kvRow(b, hk, j);${dot('q', 'qo', 'k', 'ko')}
   let p = exp(s - l);
   for (var d = 0u; d < D; d++) { out[qo + d] += p * v[ko + d]; }
 }
}`,
};
const DELTA: Kernel = {
  arrays: ['out', 'dOut', 'delta', 'ks:i32'],
  code: `${HELPERS}${MASKS}
${FLAT_ENTRY} {${queryRow}
 var s = 0.0;
 for (var d = 0u; d < D; d++) { s += dOut[qo + d] * out[qo + d]; }
 delta[r] = s;
}`,
};
const DQ: Kernel = {
  arrays: ['q', 'k', 'v', 'lse', 'dOut', 'delta', 'dq', 'ks:i32'],
  code: `${HELPERS}${MASKS}
${FLAT_ENTRY} {${queryRow}
 for (var d = 0u; d < D; d++) { dq[qo + d] = 0.0; }
 for (var j = lo; j < cnt; j++) {
   let ko = kvRow(b, hk, j);${dot('q', 'qo', 'k', 'ko')}
   let p = exp(s - lse[r]);
   var dp = 0.0;
   for (var d = 0u; d < D; d++) { dp += dOut[qo + d] * v[ko + d]; }
   let ds = p * (dp - delta[r]) * capGrad(s) * pf(6);
   for (var d = 0u; d < D; d++) { dq[qo + d] += ds * k[ko + d]; }
 }
}`,
};
// dk, dv: one thread per key row, over the query rows of its head group that see it
const DKV: Kernel = {
  arrays: ['q', 'k', 'v', 'lse', 'dOut', 'delta', 'dk', 'dv', 'ks:i32'],
  code: `${HELPERS}${MASKS}
${FLAT_ENTRY} {
 let rows = pu(0) * pu(2) * pu(4);
 let rk = ${FLAT_INDEX};
 if (rk >= rows) { return; }
 let j = rk % pu(4);
 let hk = (rk / pu(4)) % pu(2);
 let b = rk / (pu(4) * pu(2));
 let D = pu(5);
 let ko = kvRow(b, hk, j);
 let wantK = pu(13) != 0u;
 let wantV = pu(14) != 0u;
 for (var d = 0u; d < D; d++) { if (wantK) { dk[ko + d] = 0.0; } if (wantV) { dv[ko + d] = 0.0; } }
 let group = pu(1) / pu(2);
 for (var h = hk * group; h < (hk + 1u) * group; h++) {
   for (var i = 0u; i < pu(3); i++) {
     if (j >= visible(i) || j < firstKey(b, i)) { continue; }
     let r = (b * pu(1) + h) * pu(3) + i;
     let qo = qRow(b, h, i);${dot('q', 'qo', 'k', 'ko')}
     let p = exp(s - lse[r]);
     if (wantV) { for (var d = 0u; d < D; d++) { dv[ko + d] += p * dOut[qo + d]; } }
     if (wantK) {
       var dp = 0.0;
       for (var d = 0u; d < D; d++) { dp += dOut[qo + d] * v[ko + d]; }
       let ds = p * (dp - delta[r]) * capGrad(s) * pf(6);
       for (var d = 0u; d < D; d++) { dk[ko + d] += ds * q[qo + d]; }
     }
   }
 }
}`,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function shapeParams(p: any): Params {
  return new Params()
    .u(p.batch)
    .u(p.headsQ)
    .u(p.headsKv)
    .u(p.seqQ)
    .u(p.seqKv)
    .u(p.headDim)
    .f(p.scale)
    .u(p.causal ? 1 : 0)
    .u(p.layout === 'bthd' ? 1 : 0)
    .f(-Infinity)
    .u(p.hasKeyStart ? 1 : 0)
    .u(p.window ?? 0)
    .f(p.softcap ?? 0);
}

export const attentionKernels: Record<string, Launcher> = {
  // the client sends keyStart last, when there is one
  attention: ({ call, p, bufs }) => {
    const ks = p.hasKeyStart ? bufs[5]! : call.scratch(4);
    call.dispatch(FORWARD, shapeParams(p), [...bufs.slice(0, 5), ks], flatGroups(p.batch * p.headsQ * p.seqQ));
  },
  attentionBackward: ({ call, p, bufs }) => {
    const [q, k, v, out, lse, dOut] = bufs;
    let next = 6;
    const dq = p.hasDq ? bufs[next++]! : null;
    const dk = p.hasDk ? bufs[next++]! : null;
    const dv = p.hasDv ? bufs[next++]! : null;
    const ks = p.hasKeyStart ? bufs[next++]! : call.scratch(4);
    const qRows = p.batch * p.headsQ * p.seqQ;
    const delta = call.scratch(qRows);
    call.dispatch(DELTA, shapeParams(p), [out!, dOut!, delta, ks], flatGroups(qRows));
    if (dq) call.dispatch(DQ, shapeParams(p), [q!, k!, v!, lse!, dOut!, delta, dq, ks], flatGroups(qRows));
    if (dk || dv) {
      const params = shapeParams(p)
        .u(dk ? 1 : 0)
        .u(dv ? 1 : 0);
      const kvRows = p.batch * p.headsKv * p.seqKv;
      call.dispatch(DKV, params, [q!, k!, v!, lse!, dOut!, delta, dk ?? call.scratch(4), dv ?? call.scratch(4), ks], flatGroups(kvRows));
    }
  },
};
