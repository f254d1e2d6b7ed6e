// Row kernels: softmax and log-softmax (and backward), RMSNorm and LayerNorm (and
// backward), fused cross-entropy. One thread per row, sums in f32 in order
// (the reference sums in f64: the tolerances of docs/WEBGPU.md cover it); weight
// gradients are column sums, one thread per column over the rows in order.

import { FLAT_ENTRY, FLAT_INDEX, flatGroups, Params, type Kernel } from '../device.js';
import { kahanAdd } from './elementwise.js';
import { withOptional } from './slots.js';
import type { Launcher } from './types.js';

const perRow = (arrays: string[], body: string): Kernel => ({
  arrays,
  code: `${FLAT_ENTRY} {\n let r = ${FLAT_INDEX};\n if (r >= pu(0)) { return; }\n let cols = pu(1);\n let o = r * cols;\n${body}\n}`,
});
const perCol = (arrays: string[], body: string): Kernel => ({
  arrays,
  code: `${FLAT_ENTRY} {\n let j = ${FLAT_INDEX};\n let rows = pu(0);\n let cols = pu(1);\n if (j >= cols) { return; }\n${body}\n}`,
});
const store = (dst: string, at: string, value: string, accFlag: string) =>
  `if (${accFlag} != 0u) { ${dst}[${at}] = ${dst}[${at}] + ${value}; } else { ${dst}[${at}] = ${value}; }`;

// P = [rows, cols, log]
const SOFTMAX = perRow(
  ['x', 'out'],
  `var mx = x[o];
 for (var j = 1u; j < cols; j++) { mx = max(mx, x[o + j]); }
 var sum = 0.0;
 var comp = 0.0;
 for (var j = 0u; j < cols; j++) { ${kahanAdd('sum', 'comp', 'exp(x[o + j] - mx)')} }
 if (pu(2) != 0u) {
   let lse = mx + log(sum);
   for (var j = 0u; j < cols; j++) { out[o + j] = x[o + j] - lse; }
 } else {
   for (var j = 0u; j < cols; j++) { out[o + j] = exp(x[o + j] - mx) / sum; }
 }`,
);
// P = [rows, cols, log, accumulate]
const SOFTMAX_BACKWARD = perRow(
  ['y', 'dy', 'dx'],
  `var s = 0.0;
 if (pu(2) != 0u) {
   for (var j = 0u; j < cols; j++) { s += dy[o + j]; }
   for (var j = 0u; j < cols; j++) { let v = dy[o + j] - exp(y[o + j]) * s; ${store('dx', 'o + j', 'v', 'pu(3)')} }
 } else {
   for (var j = 0u; j < cols; j++) { s += dy[o + j] * y[o + j]; }
   for (var j = 0u; j < cols; j++) { let v = y[o + j] * (dy[o + j] - s); ${store('dx', 'o + j', 'v', 'pu(3)')} }
 }`,
);
// P = [rows, cols, eps, hasWeight]
const weightAt = (j: string) => `select(1.0, w[${j}], pu(3) != 0u)`;
const RMS_NORM = perRow(
  ['x', 'out', 'rstd', 'w'],
  `var ss = 0.0;
 var comp = 0.0;
 for (var j = 0u; j < cols; j++) { ${kahanAdd('ss', 'comp', 'x[o + j] * x[o + j]')} }
 let s = 1.0 / sqrt(ss / f32(cols) + pf(2));
 rstd[r] = s;
 for (var j = 0u; j < cols; j++) { out[o + j] = x[o + j] * s * ${weightAt('j')}; }`,
);
// P = [rows, cols, accumulate, hasWeight]
const RMS_NORM_DX = perRow(
  ['x', 'rstd', 'dy', 'dx', 'w'],
  `let s = rstd[r];
 var dot = 0.0;
 for (var j = 0u; j < cols; j++) { dot += dy[o + j] * ${weightAt('j')} * x[o + j]; }
 let c = s * s * s / f32(cols);
 for (var j = 0u; j < cols; j++) { let v = s * ${weightAt('j')} * dy[o + j] - c * x[o + j] * dot; ${store('dx', 'o + j', 'v', 'pu(2)')} }`,
);
const RMS_NORM_DW = perCol(
  ['x', 'rstd', 'dy', 'dw'],
  `var acc = 0.0;
 for (var r = 0u; r < rows; r++) { acc += dy[r * cols + j] * x[r * cols + j] * rstd[r]; }
 ${store('dw', 'j', 'acc', 'pu(2)')}`,
);
// P = [rows, cols, eps, hasWeight, hasBias]
const LAYER_NORM = perRow(
  ['x', 'out', 'mean', 'rstd', 'w', 'b'],
  `var sum = 0.0;
 for (var j = 0u; j < cols; j++) { sum += x[o + j]; }
 let mu = sum / f32(cols);
 var ss = 0.0;
 for (var j = 0u; j < cols; j++) { let d = x[o + j] - mu; ss += d * d; }
 let s = 1.0 / sqrt(ss / f32(cols) + pf(2));
 mean[r] = mu;
 rstd[r] = s;
 for (var j = 0u; j < cols; j++) { out[o + j] = (x[o + j] - mu) * s * ${weightAt('j')} + select(0.0, b[j], pu(4) != 0u); }`,
);
// P = [rows, cols, accumulate, hasWeight]
const LAYER_NORM_DX = perRow(
  ['x', 'mean', 'rstd', 'dy', 'dx', 'w'],
  `let s = rstd[r];
 let mu = mean[r];
 var mg = 0.0;
 var mgx = 0.0;
 for (var j = 0u; j < cols; j++) { let g = dy[o + j] * ${weightAt('j')}; mg += g; mgx += g * (x[o + j] - mu) * s; }
 mg = mg / f32(cols);
 mgx = mgx / f32(cols);
 for (var j = 0u; j < cols; j++) {
   let v = s * (dy[o + j] * ${weightAt('j')} - mg - (x[o + j] - mu) * s * mgx);
   ${store('dx', 'o + j', 'v', 'pu(2)')}
 }`,
);
// P = [rows, cols, accumulate, hasDWeight, hasDBias]
const LAYER_NORM_DWB = perCol(
  ['x', 'mean', 'rstd', 'dy', 'dw', 'db'],
  `var aw = 0.0;
 var ab = 0.0;
 for (var r = 0u; r < rows; r++) { let d = dy[r * cols + j]; aw += d * (x[r * cols + j] - mean[r]) * rstd[r]; ab += d; }
 if (pu(3) != 0u) { ${store('dw', 'j', 'aw', 'pu(2)')} }
 if (pu(4) != 0u) { ${store('db', 'j', 'ab', 'pu(2)')} }`,
);
// P = [rows, vocab, ignoreIndex, gradScale, hasGrad]
const CROSS_ENTROPY = perRow(
  ['logits', 'targets:i32', 'loss', 'd'],
  `var mx = logits[o];
 for (var j = 1u; j < cols; j++) { mx = max(mx, logits[o + j]); }
 var sum = 0.0;
 var comp = 0.0;
 for (var j = 0u; j < cols; j++) { ${kahanAdd('sum', 'comp', 'exp(logits[o + j] - mx)')} }
 let lse = mx + log(sum);
 let t = targets[r];
 let ignored = t == pi(2);
 if (ignored) { loss[r] = 0.0; } else { loss[r] = lse - logits[o + u32(t)]; }
 if (pu(4) != 0u) {
   for (var j = 0u; j < cols; j++) {
     var g = exp(logits[o + j] - lse);
     if (i32(j) == t) { g -= 1.0; }
     d[o + j] = select(pf(3) * g, 0.0, ignored);
   }
 }`,
);

export const rowKernels: Record<string, Launcher> = {
  softmax: ({ call, p, bufs }) =>
    call.dispatch(
      SOFTMAX,
      new Params()
        .u(p.rows)
        .u(p.cols)
        .u(p.log ? 1 : 0),
      bufs,
      flatGroups(p.rows),
    ),
  softmaxBackward: ({ call, p, bufs }) =>
    call.dispatch(
      SOFTMAX_BACKWARD,
      new Params()
        .u(p.rows)
        .u(p.cols)
        .u(p.log ? 1 : 0)
        .u(p.accumulate ? 1 : 0),
      bufs,
      flatGroups(p.rows),
    ),
  rmsNorm: ({ call, p, bufs }) =>
    call.dispatch(
      RMS_NORM,
      new Params()
        .u(p.rows)
        .u(p.cols)
        .f(p.eps)
        .u(p.hasWeight ? 1 : 0),
      withOptional(call, bufs, 3, [p.hasWeight]),
      flatGroups(p.rows),
    ),
  rmsNormBackward: ({ call, p, bufs }) => {
    const [x, rstd, dy, dx, dw, w] = withOptional(call, bufs, 3, [p.hasDx, p.hasDWeight, p.hasWeight]);
    const params = new Params()
      .u(p.rows)
      .u(p.cols)
      .u(p.accumulate ? 1 : 0)
      .u(p.hasWeight ? 1 : 0);
    if (p.hasDx) call.dispatch(RMS_NORM_DX, params, [x!, rstd!, dy!, dx!, w!], flatGroups(p.rows));
    if (p.hasDWeight) call.dispatch(RMS_NORM_DW, params, [x!, rstd!, dy!, dw!], flatGroups(p.cols));
  },
  layerNorm: ({ call, p, bufs }) =>
    call.dispatch(
      LAYER_NORM,
      new Params()
        .u(p.rows)
        .u(p.cols)
        .f(p.eps)
        .u(p.hasWeight ? 1 : 0)
        .u(p.hasBias ? 1 : 0),
      withOptional(call, bufs, 4, [p.hasWeight, p.hasBias]),
      flatGroups(p.rows),
    ),
  layerNormBackward: ({ call, p, bufs }) => {
    const [x, mean, rstd, dy, dx, dw, db, w] = withOptional(call, bufs, 4, [p.hasDx, p.hasDWeight, p.hasDBias, p.hasWeight]);
    const acc = p.accumulate ? 1 : 0;
    if (p.hasDx) {
      const params = new Params()
        .u(p.rows)
        .u(p.cols)
        .u(acc)
        .u(p.hasWeight ? 1 : 0);
      call.dispatch(LAYER_NORM_DX, params, [x!, mean!, rstd!, dy!, dx!, w!], flatGroups(p.rows));
    }
    if (p.hasDWeight || p.hasDBias) {
      const params = new Params()
        .u(p.rows)
        .u(p.cols)
        .u(acc)
        .u(p.hasDWeight ? 1 : 0)
        .u(p.hasDBias ? 1 : 0);
      call.dispatch(LAYER_NORM_DWB, params, [x!, mean!, rstd!, dy!, dw!, db!], flatGroups(p.cols));
    }
  },
  crossEntropy: ({ call, p, bufs }) =>
    call.dispatch(
      CROSS_ENTROPY,
      new Params()
        .u(p.rows)
        .u(p.vocab)
        .i(p.ignoreIndex)
        .f(p.gradScale)
        .u(p.hasGrad ? 1 : 0),
      withOptional(call, bufs, 3, [p.hasGrad]),
      flatGroups(p.rows),
    ),
};
