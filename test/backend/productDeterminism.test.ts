// Exact resume and "N ranks = 1 process" need a product to give the same bits every
// time. The blocked AVX2 kernel (native/gemm.cc) deals row blocks to whichever thread
// is free (session 11), so which thread computes a block changes from call to call;
// each block's sums must still run in one fixed order. Here: products through both
// splits (rows: many row blocks and K blocks; columns: a long K), repeated on two
// threads and on one, must agree bit for bit. On CPUs where oneDNN runs them instead
// this checks oneDNN's own run-to-run determinism. Attention runs each head's products
// on one thread (native/attention.cc, gemmTaskF32): the same bits on 1 or 2 threads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeBackend, nativeCpuInfo, setNativeThreads } from '../../src/backend/native/index.js';
import type { Backend, MatmulArgs } from '../../src/backend/backend.js';
import { f32ToBf16 } from '../../src/io/floatBits.js';

function values(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    v[i] = (s / 2 ** 32 - 0.5) * 2;
  }
  return v;
}

function product(be: Backend, m: number, n: number, k: number, transB: boolean): Float32Array {
  const a = values(m * k, 1);
  const b = f32ToBf16(values(k * n, 2));
  const c = new Float32Array(m * n);
  const args: MatmulArgs = {
    a,
    b,
    c,
    m,
    n,
    k,
    batch: 1,
    transA: false,
    transB,
    aBatchStride: 0,
    bBatchStride: 0,
    alpha: 1,
    beta: 0,
    aDtype: 'f32',
    bDtype: 'bf16',
    compute: 'f32',
  };
  be.matmul(args);
  return c;
}

test('large products give the same bits on every run and on 1 or 2 threads', (t) => {
  const be = loadNativeBackend();
  if (!be) return t.skip('native addon not built (npm run build:native)');
  // [m, n, k, transB]: 900 rows = 7 row blocks, K 1600 = 3 K blocks; K 3200 on 64 columns
  // a thread: the column split
  const shapes: [number, number, number, boolean][] = [
    [900, 200, 1600, true],
    [900, 200, 1600, false],
    [40, 256, 3200, false],
  ];
  const threads = nativeCpuInfo()?.ompMaxThreads ?? 1;
  try {
    for (const [m, n, k, transB] of shapes) {
      setNativeThreads(2);
      const first = product(be, m, n, k, transB);
      for (let r = 0; r < 4; r++) {
        const again = product(be, m, n, k, transB);
        assert.ok(
          again.every((x, i) => Object.is(x, first[i])),
          `${m}x${n}x${k} run ${r + 2} differs on 2 threads`,
        );
      }
      setNativeThreads(1);
      const one = product(be, m, n, k, transB);
      assert.ok(
        one.every((x, i) => Object.is(x, first[i])),
        `${m}x${n}x${k} differs between 1 and 2 threads`,
      );
    }
  } finally {
    setNativeThreads(threads);
  }
});

test("attention's forward and backward give the same bits on 1 or 2 threads", (t) => {
  const be = loadNativeBackend();
  if (!be) return t.skip('native addon not built (npm run build:native)');
  // one task per head (forward) or kv head (backward), each product on its task's thread
  const shape = { layout: 'bthd' as const, batch: 2, headsQ: 4, headsKv: 2, seqQ: 70, seqKv: 70, headDim: 24, scale: 0.2, causal: true };
  const n = 2 * 70 * 4 * 24;
  const [q, k, v, dOut] = [1, 2, 3, 4].map((seed) => values(n, seed));
  const kv = (x: Float32Array) => x.subarray(0, n / 2);
  const run = (): Float32Array[] => {
    const out = new Float32Array(n);
    const lse = new Float32Array(2 * 4 * 70);
    const [dq, dk, dv] = [new Float32Array(n), new Float32Array(n / 2), new Float32Array(n / 2)];
    be.attention({ ...shape, q: q!, k: kv(k!), v: kv(v!), out, lse });
    be.attentionBackward({ ...shape, q: q!, k: kv(k!), v: kv(v!), out, lse, dOut: dOut!, dq, dk, dv });
    return [out, lse, dq, dk, dv];
  };
  const threads = nativeCpuInfo()?.ompMaxThreads ?? 1;
  try {
    setNativeThreads(2);
    const two = run();
    setNativeThreads(1);
    const one = run();
    ['out', 'lse', 'dq', 'dk', 'dv'].forEach((what, i) =>
      assert.ok(
        one[i]!.every((x, j) => Object.is(x, two[i]![j])),
        `${what} differs between 1 and 2 threads`,
      ),
    );
  } finally {
    setNativeThreads(threads);
  }
});
