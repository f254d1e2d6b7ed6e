// Issue 15, session 7: one product of an f32 A and a frozen weight, four ways, alternated in
// rounds inside one process: an f32 weight plain or packed (--dtype f32), a bf16 weight widened
// inside the product (cola's default on a CPU without bf16 hardware) or from a packed f32 copy
// (COLA_WIDEN_MIN_ROWS=Infinity). GFLOP/s medians, at the opt-125m step's shapes: the linear
// layers over 2048 rows and the LM head's 293-row chunks; NT = forward (x W^T), NN = input
// gradient (g W). Run: npx tsc -p tsconfig.json && node bench/widenedProducts.mjs
import { loadNativeBackend } from '../dist/src/backend/native/index.js';

const be = loadNativeBackend();
if (!be) throw new Error('widenedProducts.mjs needs the native addon: npm run build:native');
const random = (n) => {
  const f = be.alloc('f32', n);
  for (let i = 0; i < n; i++) f[i] = Math.random() - 0.5;
  return f;
};
const toBf16 = (f) => {
  const h = be.alloc('bf16', f.length);
  be.castToBf16(f, h);
  return h;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const shapes = [
  [2048, 768, 768],
  [2048, 768, 3072],
  [2048, 3072, 768],
  [293, 768, 50272],
];
for (const transB of [true, false]) {
  for (const [m, k, n] of shapes) {
    const a = random(m * k);
    const wf = random(n * k);
    const wb = toBf16(wf);
    const c = be.alloc('f32', m * n);
    const base = { a, c, batch: 1, m, n, k, transA: false, transB, aBatchStride: 0, bBatchStride: 0, alpha: 1, beta: 0, aDtype: 'f32' };
    const variants = {
      'f32 plain': { ...base, b: wf, bDtype: 'f32', bPacked: null },
      'f32 packed': { ...base, b: wf, bDtype: 'f32', bPacked: be.packMatmulB(wf, k, n, transB, 'f32') },
      'bf16 widened': { ...base, b: wb, bDtype: 'bf16', bPacked: null, compute: 'f32' },
      'bf16 packed f32 copy': { ...base, b: wb, bDtype: 'bf16', bPacked: be.packMatmulB(wb, k, n, transB, 'f32'), compute: 'f32' },
    };
    for (const v of Object.values(variants)) for (let i = 0; i < 2; i++) be.matmul(v);
    const seconds = Object.fromEntries(Object.keys(variants).map((key) => [key, []]));
    for (let r = 0; r < (m < 1000 ? 5 : 9); r++) {
      for (const [key, v] of Object.entries(variants)) {
        const t0 = process.hrtime.bigint();
        be.matmul(v);
        seconds[key].push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    }
    const rates = Object.entries(seconds).map(([key, xs]) => `${key} ${((2 * m * k * n) / median(xs) / 1e9).toFixed(1)}`);
    console.log(`${transB ? 'NT' : 'NN'} ${m}x${k}x${n}: ${rates.join(' | ')}`);
  }
}
