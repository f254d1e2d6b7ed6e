// Issue 15, session 10: how steady is this machine's product rate? The step's largest linear
// product (f32 activations [2048, 768] times a bf16 weight stored [3072, 768], computed in f32
// as auto does without bf16 hardware): (1) the fastest of 7, back to back for 12 s (what
// `cola bench train-step` probes); (2) each product timed alone while cycling through 12
// different weights (as a step's 12 layers) against one weight 12 times (warm caches).
// Run: npx tsc -p tsconfig.json && node bench/productVariance.mjs
import { loadNativeBackend } from '../dist/src/backend/native/index.js';
import { plainMatmulArgs } from '../dist/src/backend/matmulArgs.js';
import { linearRate } from '../dist/src/bench/matmul.js';
const be = loadNativeBackend();
const [m, k, n] = [2048, 768, 3072];
const bursts = [];
const t0 = Date.now();
while (Date.now() - t0 < 12000) bursts.push(Math.round(linearRate(be, 'bf16', m, k, n, 7)));
console.log(`fastest of 7, back to back for 12 s (GFLOP/s): ${bursts.join(' ')}`);
const random = (dtype, size) => {
  const f = be.alloc('f32', size);
  for (let i = 0; i < size; i++) f[i] = Math.random() - 0.5;
  if (dtype === 'f32') return f;
  const h = be.alloc('bf16', size);
  be.castToBf16(f, h);
  return h;
};
const sets = Array.from({ length: 12 }, () => ({ a: random('f32', m * k), b: random('bf16', n * k), c: be.empty('f32', m * n) }));
const rate = (s) => {
  const t = process.hrtime.bigint();
  be.matmul(plainMatmulArgs({ a: s.a, b: s.b, c: s.c, m, n, k, bDtype: 'bf16', transB: true }));
  return (2 * m * n * k) / (Number(process.hrtime.bigint() - t) / 1e9) / 1e9;
};
const median = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
for (let rep = 0; rep < 5; rep++) {
  const cold = sets.map(rate);
  const hot = sets.map(() => rate(sets[0]));
  console.log(
    `one product at a time, median of 12: 12 weights cycled ${median(cold).toFixed(0)}, one weight ${median(hot).toFixed(0)} GFLOP/s (min-max ${Math.min(...cold, ...hot).toFixed(0)}-${Math.max(...cold, ...hot).toFixed(0)})`,
  );
}
