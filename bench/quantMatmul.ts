// The quantized product against the f32 one at OPT-1.3B's shapes (issue 17: a step on a
// quantized base at >= 0.6x the unquantized tokens/s, so dequantizing tiles must not
// dominate): M = 512 rows (batch 2 x 256 tokens), W [out, in] = [2048, 2048] (q, k, v,
// out_proj), [8192, 2048] (fc1), [2048, 8192] (fc2); forward x W^T and input gradient
// g W, median of `reps` after one untimed call. One JSON line per shape.
//
//   npx tsc -p tsconfig.json && node dist/bench/quantMatmul.js [--formats int8,nf4,q8_0,q4_0] [--reps 3]

import type { Backend } from '../src/backend/backend.js';
import { getBackend } from '../src/backend/index.js';
import { plainMatmulArgs } from '../src/backend/matmulArgs.js';
import { QUANT_FORMATS, type QuantFormat } from '../src/backend/quant/format.js';
import { mulberry32 } from '../src/tensor/random.js';

const M = 512;
const SHAPES: [number, number][] = [
  [2048, 2048],
  [8192, 2048],
  [2048, 8192],
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

function uniform(n: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng() - 1) * 0.035;
  return out;
}

function medianMs(reps: number, fn: () => void): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return Number(t[t.length >> 1]!.toFixed(1));
}

function f32Product(be: Backend, a: Float32Array, b: Float32Array, c: Float32Array, n: number, k: number, transB: boolean): void {
  be.matmul(plainMatmulArgs({ a, b, c, m: M, n, k, transB }));
}

const formats = arg('formats', 'int8,nf4').split(',') as QuantFormat[];
for (const f of formats) if (!QUANT_FORMATS.includes(f)) throw new Error(`--formats: unknown format ${f}`);
const reps = Number(arg('reps', '3'));
const be = getBackend('native');
for (const [rows, cols] of SHAPES) {
  const W = uniform(rows * cols, 7);
  const x = uniform(M * cols, 3);
  const g = uniform(M * rows, 5);
  const out = new Float32Array(M * rows);
  const dx = new Float32Array(M * cols);
  const fwd = medianMs(reps, () => f32Product(be, x, W, out, rows, cols, true));
  const grad = medianMs(reps, () => f32Product(be, g, W, dx, cols, rows, false));
  const row: Record<string, unknown> = { m: M, rows, cols, f32_fwd_ms: fwd, f32_grad_ms: grad };
  for (const format of formats) {
    const t0 = performance.now();
    const w = be.quantize({ values: W, rows, cols, format });
    row[`${format}_quantize_ms`] = Number((performance.now() - t0).toFixed(1));
    const qf = medianMs(reps, () => be.quantMatmul({ x, w, out, m: M, mode: 'forward', beta: 0 }));
    const qg = medianMs(reps, () => be.quantMatmul({ x: g, w, out: dx, m: M, mode: 'inputGrad', beta: 0 }));
    row[`${format}_fwd_ms`] = qf;
    row[`${format}_grad_ms`] = qg;
    // the f32 time over the quantized one: >= 0.6 is the target
    row[`${format}_speed_vs_f32`] = Number(((fwd + grad) / (qf + qg)).toFixed(2));
  }
  console.log(JSON.stringify(row));
}
