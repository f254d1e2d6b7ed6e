// Matrix-product throughput of the native backend (GFLOP/s, median of repeated
// runs after warm-up) at the shapes of a GPT-2-small training step: the linear
// layers over B*T = 2048 rows, the 512-row large-K case, and the skinny LoRA
// products (K or N = r = 16). Each dtype runs twice: B as stored (row-major) and B
// packed once beforehand, the path of frozen f32 weights in training
// (src/tensor/ops/packedWeight.ts). Two more rows multiply f32 activations by bf16
// weights in f32 (`--compute f32`, auto's choice on a CPU without bf16 hardware,
// issue 15): B widened inside the product (native/matmul.cc widenedPanelProduct), and
// from a packed f32 copy. Compare with bench/torch_matmul.py in the same run:
// the machine is noisy, so only ratios measured together mean anything.
//
//   node bin/cola.js bench matmul [--json] [--repeats N]

import type { Backend, FloatArray, MatmulArgs } from '../backend/backend.js';
import { loadNativeBackend, nativeLoadError } from '../backend/native/index.js';
import { plainMatmulArgs } from '../backend/matmulArgs.js';

const MATMUL_SHAPES: readonly (readonly [number, number, number])[] = [
  [2048, 768, 768],
  [2048, 768, 3072],
  [512, 4096, 4096],
  [2048, 768, 16],
  [2048, 16, 768],
];

interface MatmulResult {
  dtype: 'f32' | 'bf16';
  m: number;
  k: number;
  n: number;
  gflops: number;
  /** B as stored (plain row-major) or packed once beforehand, as the engine does
   * for frozen f32 weights (src/tensor/ops/packedWeight.ts); the bf16 packed row
   * shows what packing would give bf16 weights, which the engine leaves plain. */
  b: 'plain' | 'packed';
  /** 'f32': f32 A times a bf16 B computed in f32 (B widened, or its packed f32 copy) */
  compute: 'f32' | 'bf16' | null;
}

type Variant = { dtype: 'f32' | 'bf16'; b: 'plain' | 'packed'; compute: 'f32' | null };
const VARIANTS: readonly Variant[] = [
  { dtype: 'f32', b: 'plain', compute: null },
  { dtype: 'f32', b: 'packed', compute: null },
  { dtype: 'bf16', b: 'plain', compute: null },
  { dtype: 'bf16', b: 'packed', compute: null },
  { dtype: 'bf16', b: 'plain', compute: 'f32' },
  { dtype: 'bf16', b: 'packed', compute: 'f32' },
];

/** A [size] array of uniform values in [-0.5, 0.5) in native storage of `dtype`. */
function randomStorage(be: Backend, dtype: 'f32' | 'bf16', size: number): FloatArray {
  const f = be.alloc('f32', size) as Float32Array;
  for (let i = 0; i < size; i++) f[i] = Math.random() - 0.5;
  if (dtype === 'f32') return f;
  const h = be.alloc('bf16', size) as Uint16Array;
  be.castToBf16(f, h);
  return h;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Seconds of each of `repeats` products after `warmup` untimed ones (primitive
 * creation, caches, the thread pool). */
function timeProducts(be: Backend, args: MatmulArgs, warmup: number, repeats: number): number[] {
  for (let i = 0; i < warmup; i++) be.matmul(args);
  const seconds: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    be.matmul(args);
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return seconds;
}

/** One shape and variant: activations [m, k] times weights [k, n] (row-major, or packed once). */
function measure(be: Backend, { dtype, b: layout, compute }: Variant, m: number, k: number, n: number, repeats: number): MatmulResult {
  const aDtype = compute === 'f32' ? 'f32' : dtype; // f32 activations, bf16 weights
  const a = randomStorage(be, aDtype, m * k);
  const b = randomStorage(be, dtype, k * n);
  const bPacked = layout === 'packed' ? be.packMatmulB!(b, k, n, false, compute ?? undefined) : null;
  const c = be.alloc('f32', m * n) as Float32Array;
  const args = plainMatmulArgs({ a, b, c, m, n, k, aDtype, bDtype: dtype, bPacked, ...(compute ? { compute } : {}) });
  const seconds = timeProducts(be, args, 3, repeats);
  return { dtype, m, k, n, gflops: (2 * m * k * n) / median(seconds) / 1e9, b: layout, compute };
}

export async function benchMatmul(opts: { json: boolean; repeats: number }): Promise<MatmulResult[]> {
  const be = loadNativeBackend();
  if (!be) throw new Error(`benchMatmul needs the native backend: ${nativeLoadError()}; run \`npm run build:native\``);
  const results: MatmulResult[] = [];
  for (const variant of VARIANTS) {
    for (const [m, k, n] of MATMUL_SHAPES) {
      const r = measure(be, variant, m, k, n, opts.repeats);
      results.push(r);
      if (opts.json) console.log(JSON.stringify(r));
    }
  }
  if (!opts.json) printTable(results);
  return results;
}

function printTable(results: MatmulResult[]): void {
  const header = ['dtype', ...MATMUL_SHAPES.map(([m, k, n]) => `${m}x${k}x${n}`)];
  console.log(`native matmul, GFLOP/s (M x K x N)\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const { dtype, b, compute } of VARIANTS) {
    const row = results.filter((r) => r.dtype === dtype && r.b === b && r.compute === compute).map((r) => r.gflops.toFixed(0));
    const label =
      compute === 'f32'
        ? `bf16 B in f32${b === 'packed' ? ' (packed f32 copy)' : ' (widened in the product)'}`
        : `${dtype}${b === 'packed' ? ' (B packed)' : ''}`;
    console.log(`| ${label} | ${row.join(' | ')} |`);
  }
}

/** GFLOP/s of the product a linear layer of a training step runs: f32 activations
 * [m, k] times a frozen weight stored [n, k] in `dtype` (transB), as the engine
 * runs it: an f32 weight packed once (tensor/ops/packedWeight.ts), a bf16 one plain
 * on the process's compute path (widened inside the product where it computes in
 * f32). The fastest of `repeats` after 2 warm-up products: the ceiling a step's
 * effective rate is set against (issue 15), and on a VM whose speed drifts by tens of
 * percent within minutes the best observed rate is the safer ceiling (a lower share). */
export function linearRate(be: Backend, dtype: 'f32' | 'bf16', m: number, k: number, n: number, repeats: number): number {
  const a = randomStorage(be, 'f32', m * k);
  const b = randomStorage(be, dtype, n * k);
  const bPacked = dtype === 'f32' && be.packMatmulB ? be.packMatmulB(b, k, n, true) : null;
  const c = be.empty('f32', m * n) as Float32Array;
  const args = plainMatmulArgs({ a, b, c, m, n, k, bDtype: dtype, transB: true, bPacked });
  return (2 * m * k * n) / Math.min(...timeProducts(be, args, 2, repeats)) / 1e9;
}
