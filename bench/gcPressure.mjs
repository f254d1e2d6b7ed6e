// Issue 15, session 8: does V8's garbage collection, driven by a training step's large
// ArrayBuffers ("external memory pressure": ~70 collections a step at opt-125m, --trace-gc),
// slow the products down? One 2048x768x3072 product, 6 calls per round, rounds alternated:
// "quiet" allocates nothing between calls; "pressure" allocates and drops 4 buffers of 24 MB
// before each call, as a step's activations do. GFLOP/s median over 12 rounds of each.
// Run: npx tsc -p tsconfig.json && node bench/gcPressure.mjs
import { plainMatmulArgs } from '../dist/src/backend/matmulArgs.js';
import { loadNativeBackend } from '../dist/src/backend/native/index.js';
const be = loadNativeBackend();
const random = (n) => {
  const f = be.alloc('f32', n);
  for (let i = 0; i < n; i++) f[i] = Math.random() - 0.5;
  return f;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const [m, k, n] = [2048, 768, 3072];
const a = random(m * k),
  w = random(n * k),
  c = be.alloc('f32', m * n);
const args = plainMatmulArgs({ a, b: w, c, m, n, k, transB: true });
let keep = [];
const res = { quiet: [], pressure: [] };
for (let r = 0; r < 12; r++)
  for (const mode of ['quiet', 'pressure']) {
    let t = 0;
    for (let i = 0; i < 6; i++) {
      if (mode === 'pressure') {
        for (let j = 0; j < 4; j++) keep.push(be.empty('f32', 6 << 20));
        if (keep.length > 8) keep = keep.slice(-4);
      }
      const t0 = process.hrtime.bigint();
      be.matmul(args);
      t += Number(process.hrtime.bigint() - t0) / 1e9;
    }
    res[mode].push((6 * 2 * m * n * k) / t / 1e9);
  }
for (const [k2, v] of Object.entries(res)) console.log(k2, median(v).toFixed(1), v.map((x) => x.toFixed(0)).join(' '));
