// Conformance: every primitive of a backend under test (native: C++ on oneDNN;
// webgpu: WGSL in Chromium) against the reference backend (the specification),
// forward and backward, on random shapes including odd sizes, in f32 and bf16 where
// the contract allows bf16. The case tables live here, apart from the node test
// files, so the browser bundle runs the very same cases (test/browser/): there
// `node:test` and `node:assert/strict` are small shims (test/browser/shims/).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttentionShape, Backend, FloatArray, MatmulArgs, RopeShape, UnaryOp } from '../../src/backend/backend.js';
import { quantize } from '../../src/backend/quant/codec.js';
import { QUANT_FORMATS } from '../../src/backend/quant/format.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { randint, randn, randu } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

export interface ConformanceOptions {
  /** the suite's title, e.g. 'native backend conformance' */
  title: string;
  /** the backend under test (null when skipped) */
  subject: Backend | null;
  /** false, or why the suite is skipped */
  skip: string | false;
  /** the backend checks its arguments (kinds, bounds) and throws; the native
   * addon does, the webgpu backend copies whole arrays and leaves it to the caller */
  checksArguments: boolean;
  /** dropout values bit-identical to the reference (native computes x * scale in
   * f64 like the reference; WGSL has only f32, so there the mask is compared
   * exactly and the values within f32 tolerance) */
  exactDropoutValues: boolean;
  /** leave out the products sized for the native backend's large-operand paths
   * (B packed per call, sgemm; 515x259x257 and up): minutes on a software GPU */
  skipLargeProducts?: boolean;
}

let subject: Backend;
let options: ConformanceOptions;

// --- helpers ----------------------------------------------------------------------

/** A copy of `src` in the subject's storage (native: 64-byte aligned, external). */
function nf32(src: ArrayLike<number>): Float32Array {
  const out = subject.alloc('f32', src.length) as Float32Array;
  out.set(src);
  return out;
}
function ni32(src: ArrayLike<number>): Int32Array {
  const out = subject.alloc('i32', src.length) as Int32Array;
  out.set(src);
  return out;
}
function nbf16(src: Float32Array): Uint16Array {
  const out = subject.alloc('bf16', src.length) as Uint16Array;
  ref.castToBf16(src, out);
  return out;
}
/** A weight in the requested storage (null stays null). */
function weightOf(values: Float32Array | null, dtype: 'f32' | 'bf16'): FloatArray | null {
  if (values === null) return null;
  return dtype === 'bf16' ? nbf16(values) : nf32(values);
}

/** Runs `run` on both backends with outputs `make()`d fresh (each pre-filled
 * identically, so accumulate paths see the same start) and returns both. */
function onBoth<T extends Float32Array[]>(make: () => T, run: (be: Backend, outs: T) => void): { got: T; want: T } {
  const got = make();
  const want = make();
  run(subject, got);
  run(ref, want);
  return { got, want };
}

function closeAll(
  got: Float32Array[],
  want: Float32Array[],
  what: string,
  dtype: 'f32' | 'bf16' = 'f32',
  tol: { rtol?: number; atol?: number } = {},
) {
  got.forEach((g, i) => assertClose(g, want[i], { dtype, what: `${what} [output ${i}]`, ...tol }));
}

const ODD = [1, 3, 17, 65];

/** keyStart [batch, seq] for rows packed from segments of the given lengths (cycled):
 * each token's first key is the start of its segment. */
function packedStarts(batch: number, seq: number, lengths: number[]): Int32Array {
  const out = ni32(new Int32Array(batch * seq));
  let n = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0, start = 0; t < seq; t++) {
      if (t - start >= lengths[n % lengths.length]) {
        start = t;
        n++;
      }
      out[b * seq + t] = start;
    }
  }
  return out;
}
let seed = 1;
const next = () => seed++;

/** Registers the suite (node:test describe/it) for `opts.subject`. */
export function conformanceSuite(opts: ConformanceOptions): void {
  options = opts;
  if (opts.subject) subject = opts.subject;
  describe(opts.title, { skip: opts.skip }, suiteBody);
}

function suiteBody(): void {
  it('implements every primitive of the contract, taking the same argument records', () => {
    const missing = Object.keys(ref).filter(
      (key) => typeof (subject as unknown as Record<string, unknown>)[key] !== typeof ref[key as keyof Backend],
    );
    assert.deepEqual(missing, []);
    if (!options.checksArguments) return;
    assert.throws(
      () => subject.reduceSum({ x: nf32([1, 2]), outer: 1, mid: 2, inner: 1, out: nf32([0]), accumulate: 'no' as never }),
      /accumulate must be a boolean/,
    );
    assert.throws(
      () => subject.binary({ op: 'pow' as never, a: nf32([1]), aStrides: [1], b: nf32([1]), bStrides: [1], out: nf32([0]), shape: [1] }),
      /op must be one of add, sub, mul, div/,
    );
  });

  it('alloc gives zero-filled storage of each kind', () => {
    for (const [dtype, kind] of [
      ['f32', Float32Array],
      ['bf16', Uint16Array],
      ['i32', Int32Array],
    ] as const) {
      for (const size of [0, 1, 17, 1000]) {
        const x = subject.alloc(dtype, size);
        assert.ok(x instanceof kind, `${dtype} storage kind`);
        assert.equal(x.length, size);
        assert.ok(
          x.every((v) => v === 0),
          `${dtype} zero-filled`,
        );
      }
    }
  });

  it('castToBf16 / castToF32 are bit-exact, ties, NaN and infinities included', () => {
    const special = [
      0,
      -0,
      1,
      -1,
      1 + 2 ** -8,
      1 + 3 * 2 ** -8,
      1 + 2 ** -8 + 2 ** -20,
      3.4e38,
      -3.4e38,
      Infinity,
      -Infinity,
      NaN,
      1e-40,
      -1e-45,
    ];
    const src = nf32([...special, ...randn(1000, next()).map((v) => v * 100)]);
    const a = subject.alloc('bf16', src.length) as Uint16Array;
    const b = new Uint16Array(src.length);
    subject.castToBf16(src, a);
    ref.castToBf16(src, b);
    assert.deepEqual(a, b);
    const fa = subject.alloc('f32', src.length) as Float32Array;
    const fb = new Float32Array(src.length);
    subject.castToF32(a, fa);
    ref.castToF32(b, fb);
    assert.deepEqual(new Uint32Array(fa.buffer, fa.byteOffset, fa.length), new Uint32Array(fb.buffer));
  });

  it('copyStrided: transpose, slice, broadcast, accumulate, every storage kind', () => {
    const cases: { shape: number[]; src: number[]; dst: number[]; so: number; dOff: number; acc: boolean }[] = [
      { shape: [3, 17], src: [1, 3], dst: [17, 1], so: 0, dOff: 0, acc: false }, // transpose
      { shape: [2, 5, 7], src: [35, 1, 5], dst: [35, 7, 1], so: 0, dOff: 0, acc: true },
      { shape: [4, 65], src: [0, 1], dst: [65, 1], so: 3, dOff: 0, acc: false }, // broadcast a row
      { shape: [2, 3], src: [10, 1], dst: [3, 1], so: 12, dOff: 5, acc: false }, // slice + offset
      { shape: [], src: [], dst: [], so: 2, dOff: 1, acc: true },
      { shape: [300, 200], src: [200, 1], dst: [1, 300], so: 0, dOff: 0, acc: false }, // big transpose (threads)
    ];
    for (const c of cases) {
      const srcLen = 60000 + c.so;
      const dstLen = 60000 + c.dOff + 1;
      const what = `copyStrided ${JSON.stringify(c)}`;
      const srcF = nf32(randn(srcLen, next()));
      const init = randn(dstLen, next());
      const { got, want } = onBoth(
        () => [nf32(init)],
        (be, [d]) =>
          be.copyStrided({
            src: srcF,
            srcOffset: c.so,
            srcStrides: c.src,
            dst: d,
            dstOffset: c.dOff,
            dstStrides: c.dst,
            shape: c.shape,
            accumulate: c.acc,
          }),
      );
      assert.deepEqual(got[0], want[0], what);
      const srcI = ni32(randint(srcLen, next(), -1000, 1000));
      const di = ni32(randint(dstLen, 7, -5, 5));
      const dr = Int32Array.from(di);
      subject.copyStrided({
        src: srcI,
        srcOffset: c.so,
        srcStrides: c.src,
        dst: di,
        dstOffset: c.dOff,
        dstStrides: c.dst,
        shape: c.shape,
        accumulate: c.acc,
      });
      ref.copyStrided({
        src: srcI,
        srcOffset: c.so,
        srcStrides: c.src,
        dst: dr,
        dstOffset: c.dOff,
        dstStrides: c.dst,
        shape: c.shape,
        accumulate: c.acc,
      });
      assert.deepEqual(di, dr, `${what} i32`);
      if (!c.acc) {
        const srcH = nbf16(randn(srcLen, next()));
        const dh = subject.alloc('bf16', dstLen) as Uint16Array;
        const dhr = new Uint16Array(dstLen);
        subject.copyStrided({
          src: srcH,
          srcOffset: c.so,
          srcStrides: c.src,
          dst: dh,
          dstOffset: c.dOff,
          dstStrides: c.dst,
          shape: c.shape,
          accumulate: false,
        });
        ref.copyStrided({
          src: srcH,
          srcOffset: c.so,
          srcStrides: c.src,
          dst: dhr,
          dstOffset: c.dOff,
          dstStrides: c.dst,
          shape: c.shape,
          accumulate: false,
        });
        assert.deepEqual(dh, dhr, `${what} bf16`);
      }
    }
  });

  it(
    'copyStrided and matmul reject out-of-bounds arguments instead of reading past the end',
    { skip: !options.checksArguments && 'this backend leaves argument checks to the caller' },
    () => {
      const x = nf32(randn(10, next()));
      const y = nf32(new Float32Array(10));
      assert.throws(
        () =>
          subject.copyStrided({
            src: x,
            srcOffset: 0,
            srcStrides: [1],
            dst: y,
            dstOffset: 0,
            dstStrides: [1],
            shape: [11],
            accumulate: false,
          }),
        /outside|elements/,
      );
      assert.throws(
        () =>
          subject.copyStrided({
            src: x,
            srcOffset: 5,
            srcStrides: [2],
            dst: y,
            dstOffset: 0,
            dstStrides: [1],
            shape: [4],
            accumulate: false,
          }),
        /outside/,
      );
      const args = matmulArgs(1, 4, 4, 4, false, false, 'f32', 'f32');
      assert.throws(() => subject.matmul({ ...args, a: nf32(new Float32Array(15)) }), /elements/);
      assert.throws(() => subject.softmax(x, y, 3, 4), /elements/);
    },
  );

  it('fill and axpby (beta 0 overwrites NaN; y may be x)', () => {
    for (const n of [...ODD, 100000]) {
      const x = nf32(randn(n, next()));
      const { got, want } = onBoth(
        () => [nf32(new Float32Array(n).fill(NaN))],
        (be, [y]) => be.axpby(1.5, x, 0, y),
      );
      closeAll(got, want, `axpby beta 0 n=${n}`);
      const y0 = randn(n, next());
      const r2 = onBoth(
        () => [nf32(y0)],
        (be, [y]) => be.axpby(-0.5, x, 0.25, y),
      );
      closeAll(r2.got, r2.want, `axpby n=${n}`);
      const r3 = onBoth(
        () => [nf32(y0)],
        (be, [y]) => be.axpby(2, y, 3, y),
      );
      closeAll(r3.got, r3.want, `axpby aliased n=${n}`);
      const r4 = onBoth(
        () => [nf32(y0)],
        (be, [y]) => be.fill(y, 0.3),
      );
      closeAll(r4.got, r4.want, `fill n=${n}`);
    }
  });

  it('binary ops with broadcast strides', () => {
    const shapes: { shape: number[]; a: number[]; b: number[] }[] = [
      { shape: [65], a: [1], b: [1] },
      { shape: [3, 17], a: [17, 1], b: [0, 1] }, // bias add
      { shape: [3, 17], a: [17, 1], b: [1, 0] }, // per-row scale
      { shape: [2, 3, 5], a: [0, 5, 1], b: [15, 0, 1] },
      { shape: [1, 1], a: [1, 1], b: [0, 0] },
      { shape: [512, 300], a: [300, 1], b: [0, 1] }, // big enough for threads
    ];
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      for (const s of shapes) {
        const size = s.shape.reduce((p, v) => p * v, 1);
        const a = nf32(randn(size, next()));
        const b = nf32(randu(size, next(), 0.5, 2));
        const { got, want } = onBoth(
          () => [nf32(new Float32Array(size))],
          (be, [o]) => be.binary({ op, a, aStrides: s.a, b, bStrides: s.b, out: o, shape: s.shape }),
        );
        closeAll(got, want, `binary ${op} ${JSON.stringify(s)}`);
      }
    }
  });

  it('unary ops and their derivatives', () => {
    const ops: UnaryOp[] = ['relu', 'silu', 'gelu_tanh', 'gelu_erf', 'exp', 'neg', 'sqr', 'tanh'];
    for (const op of ops) {
      for (const n of [...ODD, 70000]) {
        const xs = randn(n, next()).map((v) => v * 4);
        if (n > 3) xs.set([0, -20, 20], 0); // relu'(0), tails of gelu and silu
        const x = nf32(xs);
        const r1 = onBoth(
          () => [nf32(new Float32Array(n))],
          (be, [o]) => be.unary(op, x, o),
        );
        closeAll(r1.got, r1.want, `unary ${op} n=${n}`);
        const dy = nf32(randn(n, next()));
        const start = randn(n, next());
        for (const acc of [false, true]) {
          const r2 = onBoth(
            () => [nf32(start)],
            (be, [dx]) => be.unaryBackward({ op, x, dy, dx, accumulate: acc }),
          );
          closeAll(r2.got, r2.want, `unaryBackward ${op} n=${n} acc=${acc}`);
        }
      }
    }
  });

  it('reduceSum and sumSquares', () => {
    for (const [outer, mid, inner] of [
      [1, 65, 17],
      [3, 17, 1],
      [2, 3, 300],
      [1, 1, 1],
      [1, 2048, 768],
    ]) {
      const x = nf32(randn(outer * mid * inner, next()));
      const start = randn(outer * inner, next());
      for (const acc of [false, true]) {
        const { got, want } = onBoth(
          () => [nf32(start)],
          (be, [o]) => be.reduceSum({ x, outer, mid, inner, out: o, accumulate: acc }),
        );
        closeAll(got, want, `reduceSum ${outer}x${mid}x${inner} acc=${acc}`);
      }
      const ss = subject.sumSquares(x);
      const expected = ref.sumSquares(x);
      assert.ok(Math.abs(ss - expected) <= 1e-9 * expected, `sumSquares ${ss} vs ${expected}`);
    }
  });

  it('dropout masks are bit-identical to the shared hash', () => {
    for (const [n, p, seedValue, offset] of [
      [65, 0.1, 42, 0],
      [100000, 0.5, 0xdeadbeef, 12345],
      [17, 1, 7, 3],
      [1000, 0, 1, 2 ** 32 + 5],
      [3, 0.3, -5, 10],
    ]) {
      const x = nf32(randn(n, next()));
      const { got, want } = onBoth(
        () => [nf32(new Float32Array(n))],
        (be, [o]) => be.dropout({ x, out: o, p, seed: seedValue, offset }),
      );
      if (options.exactDropoutValues) assert.deepEqual(got[0], want[0], `dropout n=${n} p=${p}`);
      else {
        assert.deepEqual(
          got[0].map((v) => (v === 0 ? 0 : 1)),
          want[0].map((v) => (v === 0 ? 0 : 1)),
          `dropout mask n=${n} p=${p}`,
        );
        closeAll(got, want, `dropout n=${n} p=${p}`);
      }
    }
  });

  it('matmul: f32, bf16 and mixed; transposes, batch strides, broadcast, alpha, beta and bias', () => {
    const shapes = [
      [1, 1, 1],
      [3, 17, 65],
      [65, 3, 17],
      [17, 65, 3],
      [64, 64, 64],
      [2, 1, 130],
    ];
    const dtypes = [
      ['f32', 'f32'],
      ['bf16', 'bf16'],
      ['f32', 'bf16'],
      ['bf16', 'f32'],
    ] as const;
    for (const [m, n, k] of shapes) {
      for (const [aDtype, bDtype] of dtypes) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            checkMatmul(matmulArgs(1, m, n, k, transA, transB, aDtype, bDtype));
          }
        }
        // batched: contiguous, broadcast A, broadcast B (folded into M), padded strides, alpha/beta
        checkMatmul(matmulArgs(3, m, n, k, false, false, aDtype, bDtype));
        checkMatmul({ ...matmulArgs(3, m, n, k, false, true, aDtype, bDtype, 0, k * n), alpha: 0.5 });
        checkMatmul({ ...matmulArgs(3, m, n, k, false, false, aDtype, bDtype, m * k, 0), beta: 1 });
        checkMatmul({ ...matmulArgs(2, m, n, k, true, false, aDtype, bDtype, m * k + 5, k * n + 3), alpha: -2, beta: 0.5 });
        // a fused bias: linear layers (broadcast B, folded) and batched, overwrite and accumulate
        checkMatmul({ ...matmulArgs(1, m, n, k, false, true, aDtype, bDtype), bias: nf32(randn(n, next())) });
        checkMatmul({ ...matmulArgs(3, m, n, k, false, true, aDtype, bDtype, m * k, 0), bias: nf32(randn(n, next())), beta: 1 });
        checkMatmul({ ...matmulArgs(2, m, n, k, true, false, aDtype, bDtype), bias: nf32(randn(n, next())) });
      }
    }
  });

  it(
    'matmul with B packed once (frozen weights): same products as the plain operand',
    { skip: !options.subject?.packMatmulB && 'no packMatmulB on this backend' },
    () => {
      for (const [m, n, k] of [
        [1, 1, 1],
        [3, 17, 65],
        [65, 3, 17],
        [64, 64, 64],
        [130, 33, 70],
      ]) {
        for (const [aDtype, bDtype] of [
          ['f32', 'f32'],
          ['bf16', 'bf16'],
          ['f32', 'bf16'],
          ['bf16', 'f32'], // packed f32 B cannot serve a bf16 product: the plain path runs
        ] as const) {
          for (const transB of [false, true]) {
            const packed = (args: MatmulArgs): MatmulArgs => ({ ...args, bPacked: subject.packMatmulB!(args.b, k, n, transB) });
            checkMatmul(packed(matmulArgs(1, m, n, k, false, transB, aDtype, bDtype)));
            checkMatmul(packed({ ...matmulArgs(1, m, n, k, false, transB, aDtype, bDtype), bias: nf32(randn(n, next())), beta: 1 }));
            checkMatmul(packed({ ...matmulArgs(1, m, n, k, true, transB, aDtype, bDtype), alpha: 0.5 }));
            // a batch sharing B folds into rows, which the packed copy serves too
            checkMatmul(packed(matmulArgs(3, m, n, k, false, transB, aDtype, bDtype, m * k, 0)));
          }
        }
      }
    },
  );

  it(
    'matmul: a plain B large enough to be packed per call, or to go to sgemm, gives the same products',
    { skip: options.skipLargeProducts && 'large products left out on this backend (skipLargeProducts)' },
    () => {
      const [m, n, k] = [515, 259, 257];
      for (const [aDtype, bDtype] of [
        ['f32', 'f32'],
        ['bf16', 'bf16'],
        ['f32', 'bf16'],
        ['bf16', 'f32'],
      ] as const) {
        checkMatmul(matmulArgs(1, m, n, k, false, false, aDtype, bDtype));
        checkMatmul({ ...matmulArgs(1, m, n, k, true, false, aDtype, bDtype), bias: nf32(randn(n, next())), beta: 1 });
        checkMatmul({ ...matmulArgs(2, 300, n, k, false, false, aDtype, bDtype, 300 * k, 0), alpha: 0.5 }); // folds to 600 rows
      }
      // f32 with a wide plain B (N >= 2048) goes to oneDNN's sgemm instead
      const wide = 2049;
      checkMatmul(matmulArgs(1, m, wide, k, false, false, 'f32', 'f32'));
      checkMatmul({ ...matmulArgs(1, m, wide, k, true, false, 'f32', 'f32'), alpha: -0.5, beta: 1 });
      checkMatmul({ ...matmulArgs(2, 300, wide, k, false, false, 'f32', 'f32', 300 * k, 0), beta: 0.25 });
      checkMatmul({ ...matmulArgs(1, m, wide, k, false, false, 'f32', 'f32'), bias: nf32(randn(wide, next())) }); // bias: not sgemm
    },
  );

  it('matmul compute f32 and bf16 (issue 15): f32 and bf16 storage, plain, packed per call, widened copies', () => {
    const storages = [
      ['f32', 'bf16'],
      ['bf16', 'bf16'],
      ['bf16', 'f32'],
      ['f32', 'f32'],
    ] as const;
    for (const compute of ['f32', 'bf16'] as const) {
      for (const [m, n, k] of [
        [3, 17, 65],
        [64, 64, 64],
        [515, 259, 257], // large enough to pack (or widen) B per call
      ].filter(([m]) => !options.skipLargeProducts || m < 500)) {
        for (const [aDtype, bDtype] of storages) {
          for (const transB of [false, true]) {
            const args = (a: MatmulArgs): MatmulArgs => ({ ...a, compute });
            checkMatmul(args(matmulArgs(1, m, n, k, false, transB, aDtype, bDtype)));
            checkMatmul(args({ ...matmulArgs(1, m, n, k, true, transB, aDtype, bDtype), bias: nf32(randn(n, next())), beta: 1 }));
            checkMatmul(args(matmulArgs(3, m, n, k, false, transB, aDtype, bDtype, m * k, 0))); // shared B, folded
            checkMatmul(args({ ...matmulArgs(2, m, n, k, false, transB, aDtype, bDtype), alpha: 0.5 })); // B per batch item
            // a frozen bf16 weight's packed copies: bf16, and widened to f32 (packedWeight.ts)
            for (const as of ['f32', 'bf16'] as const) {
              if ((bDtype === 'f32' && as === 'bf16') || !subject.packMatmulB) continue;
              const a = args(matmulArgs(1, m, n, k, false, transB, aDtype, bDtype));
              checkMatmul({ ...a, bPacked: subject.packMatmulB!(a.b, k, n, transB, as) });
            }
          }
        }
      }
    }
  });

  it('quantMatmul: int8, nf4, q8_0, q4_0; forward and input gradient, overwrite and accumulate, odd shapes, the weight reused', () => {
    for (const format of QUANT_FORMATS) {
      for (const [rows, cols] of [
        [1, 1],
        [3, 33],
        [17, 64],
        [65, 100],
        [70, 129],
      ] as const) {
        const w = quantize(randn(rows * cols, next()), rows, cols, format);
        // m = 67 twice: the second time a backend that keeps the weight (webgpu) reads its copy
        for (const m of [1, 67, 67]) {
          for (const mode of ['forward', 'inputGrad'] as const) {
            const [inF, outF] = mode === 'forward' ? [cols, rows] : [rows, cols];
            const x = nf32(randn(m * inF, next()));
            const start = randn(m * outF + 3, next()); // out longer than the product: its tail stays
            for (const beta of [0, 1]) {
              const { got, want } = onBoth(
                () => [nf32(start)],
                (be, [out]) => be.quantMatmul({ x, w, out, m, mode, beta }),
              );
              // unit-variance terms: the f32 rounding of another summation order grows like sqrt(k)
              closeAll(got, want, `quantMatmul ${format} ${mode} ${m}x[${rows}, ${cols}] beta ${beta}`, 'f32', {
                atol: 1e-5 * Math.sqrt(inF),
              });
            }
          }
        }
      }
    }
  });

  it(
    'matmul compute f32 of a bf16 B across widening panels (issue 15): partial panel, alpha, beta, bias, transposes',
    { skip: options.skipLargeProducts && 'large products left out on this backend (skipLargeProducts)' },
    () => {
      // A bf16 B computed in f32 is widened a panel of stored rows at a time (native
      // matmul.cc, widenedPanelProduct: at most 2^20 values and at least 64 rows a panel):
      // rows of 16385 values make 64-row panels, so 130 stored rows span three, the last
      // partial. Stored [n, k] (transB) a panel is a block of C's columns; stored [k, n] a
      // slice of the K sum, accumulated into C (beta on the first only, bias once). Few
      // rows of A: the reference's product is the slow part.
      const [rows, long] = [130, 16385];
      for (const transB of [true, false]) {
        const [n, k] = transB ? [rows, long] : [long, rows];
        const f32 = (a: MatmulArgs): MatmulArgs => ({ ...a, compute: 'f32' });
        // sums of 16385 f32 products (transB) keep ~1e-4 absolute in a plain sequential order
        const tol = { atol: 1e-3 };
        checkMatmul(f32(matmulArgs(1, 2, n, k, false, transB, 'f32', 'bf16')), tol);
        checkMatmul(f32({ ...matmulArgs(1, 1, n, k, true, transB, 'bf16', 'bf16'), alpha: -0.5, beta: 0.25 }), tol);
        checkMatmul(f32({ ...matmulArgs(1, 1, n, k, false, transB, 'f32', 'bf16'), bias: nf32(randn(n, next())), beta: 1 }), tol);
        checkMatmul(f32(matmulArgs(2, 1, n, k, false, transB, 'f32', 'bf16', k, 0)), tol); // shared B, folded to 2 rows
      }
    },
  );

  it(
    'matmul compute f32 of a bf16 B across the blocked kernel (issue 15): edge tiles, K and N blocks, row and column splits',
    { skip: options.skipLargeProducts && 'large products left out on this backend (skipLargeProducts)' },
    () => {
      // On an AVX2 CPU without AVX-512 the native backend runs these on its own blocked
      // GEMM (native/gemm.cc: 6x16 tiles, K blocks of 768, N blocks of 4080); elsewhere
      // on oneDNN. 301 rows: partial 6-row tiles and uneven thread shares; K 1000 and
      // 900: a whole K block and a partial one (beta on the first only, bias on the
      // last); K 3100, or 8200 columns on few rows: the column split (each thread packs
      // its own B panels), the latter across an N block, ending in a partial 16-column tile.
      const f32 = (a: MatmulArgs): MatmulArgs => ({ ...a, compute: 'f32' });
      const tol = { atol: 1e-3 };
      for (const transB of [true, false]) {
        checkMatmul(f32(matmulArgs(1, 301, 150, 300, false, transB, 'f32', 'bf16')), tol);
        checkMatmul(f32({ ...matmulArgs(1, 37, 203, 1000, true, transB, 'f32', 'bf16'), alpha: -0.5, beta: 0.25 }), tol);
        checkMatmul(f32({ ...matmulArgs(1, 61, 150, 900, false, transB, 'bf16', 'bf16'), bias: nf32(randn(150, next())), beta: 1 }), tol);
        checkMatmul(f32({ ...matmulArgs(1, 16, 160, 3100, false, transB, 'f32', 'bf16'), bias: nf32(randn(160, next())) }), tol);
        checkMatmul(f32(matmulArgs(1, 16, 8200, 64, false, transB, 'f32', 'bf16')), tol);
        checkMatmul(f32(matmulArgs(3, 40, 130, 129, false, transB, 'f32', 'bf16', 40 * 129, 0)), tol); // shared B, folded
      }
    },
  );

  it('softmax, logSoftmax and their backward passes', () => {
    // scale 100: values far beyond exp's f32 range, so a wrong row max overflows
    for (const [rows, cols, scale] of [
      [1, 1, 5],
      [3, 17, 5],
      [17, 65, 5],
      [4, 50257, 5],
      [65, 3, 5],
      [5, 203, 100],
    ]) {
      const xs = randn(rows * cols, next()).map((v) => v * scale);
      if (cols > 2) xs[1] = -Infinity; // a masked position
      const x = nf32(xs);
      const make = () => [nf32(new Float32Array(rows * cols))];
      const sm = onBoth(make, (be, [o]) => be.softmax(x, o, rows, cols));
      closeAll(sm.got, sm.want, `softmax ${rows}x${cols}`);
      const lsm = onBoth(make, (be, [o]) => be.logSoftmax(x, o, rows, cols));
      // x - lse in f32 near |x| = 300 keeps only ~3e-5 absolute (its ulp is 3e-5)
      closeAll(lsm.got, lsm.want, `logSoftmax ${rows}x${cols}`, 'f32', scale > 5 ? { atol: 1e-4 } : {});
      const dy = nf32(randn(rows * cols, next()));
      const start = randn(rows * cols, next());
      for (const acc of [false, true]) {
        const b1 = onBoth(
          () => [nf32(start)],
          (be, [dx]) => be.softmaxBackward({ y: sm.want[0], dy, dx, rows, cols, accumulate: acc }),
        );
        closeAll(b1.got, b1.want, `softmaxBackward ${rows}x${cols} acc=${acc}`);
        const b2 = onBoth(
          () => [nf32(start)],
          (be, [dx]) => be.logSoftmaxBackward({ y: lsm.want[0], dy, dx, rows, cols, accumulate: acc }),
        );
        closeAll(b2.got, b2.want, `logSoftmaxBackward ${rows}x${cols} acc=${acc}`, 'f32', { atol: 1e-4 });
      }
    }
  });

  it('rmsNorm and layerNorm, forward and backward, f32 / bf16 / absent weights', () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 17],
      [17, 65],
      [300, 768],
    ]) {
      const x = nf32(randn(rows * cols, next()).map((v) => v * 2 + 0.5));
      const dy = nf32(randn(rows * cols, next()));
      const wv = randn(cols, next());
      const bv = randn(cols, next());
      for (const wd of ['f32', 'bf16', 'none'] as const) {
        const w = wd === 'none' ? null : weightOf(wv, wd);
        const bias = wd === 'none' ? null : weightOf(bv, wd);
        const what = `${rows}x${cols} weight=${wd}`;
        const fr = onBoth(
          () => [nf32(new Float32Array(rows * cols)), nf32(new Float32Array(rows))],
          (be, [o, rstd]) => be.rmsNorm({ x, weight: w, out: o, rstd, rows, cols, eps: 1e-5 }),
        );
        closeAll(fr.got, fr.want, `rmsNorm ${what}`);
        const fl = onBoth(
          () => [nf32(new Float32Array(rows * cols)), nf32(new Float32Array(rows)), nf32(new Float32Array(rows))],
          (be, [o, mean, rstd]) => be.layerNorm({ x, weight: w, bias, out: o, mean, rstd, rows, cols, eps: 1e-5 }),
        );
        closeAll(fl.got, fl.want, `layerNorm ${what}`);
        const dxStart = randn(rows * cols, next());
        const dwStart = randn(cols, next());
        for (const acc of [false, true]) {
          const br = onBoth(
            () => [nf32(dxStart), nf32(dwStart)],
            (be, [dx, dw]) => be.rmsNormBackward({ x, weight: w, rstd: fr.want[1], dy, dx, dWeight: dw, rows, cols, accumulate: acc }),
          );
          closeAll(br.got, br.want, `rmsNormBackward ${what} acc=${acc}`, 'f32', { atol: 1e-4 });
          const bl = onBoth(
            () => [nf32(dxStart), nf32(dwStart), nf32(dwStart)],
            (be, [dx, dw, db]) =>
              be.layerNormBackward({
                x,
                weight: w,
                mean: fl.want[1],
                rstd: fl.want[2],
                dy,
                dx,
                dWeight: dw,
                dBias: db,
                rows,
                cols,
                accumulate: acc,
              }),
          );
          closeAll(bl.got, bl.want, `layerNormBackward ${what} acc=${acc}`, 'f32', { atol: 1e-4 });
        }
        // Frozen weight: only dx.
        const bn = onBoth(
          () => [nf32(dxStart)],
          (be, [dx]) =>
            be.layerNormBackward({
              x,
              weight: w,
              mean: fl.want[1],
              rstd: fl.want[2],
              dy,
              dx,
              dWeight: null,
              dBias: null,
              rows,
              cols,
              accumulate: false,
            }),
        );
        closeAll(bn.got, bn.want, `layerNormBackward ${what} dx only`, 'f32', { atol: 1e-4 });
      }
    }
  });

  it('rope: halves and pairs, partial rotary dim, inverse, in place', () => {
    const maxPos = 40;
    for (const [batch, seq, heads, headDim, rotaryDim] of [
      [1, 1, 1, 2, 2],
      [2, 17, 3, 8, 8],
      [3, 5, 2, 10, 6],
      [2, 64, 12, 64, 64],
    ]) {
      const half = rotaryDim / 2;
      const angles = randu(maxPos * half, next(), 0, 6.3);
      const cos = nf32(angles.map(Math.cos));
      const sin = nf32(angles.map(Math.sin));
      const positions = ni32(randint(seq, next(), 0, maxPos));
      const size = batch * seq * heads * headDim;
      const x = nf32(randn(size, next()));
      for (const layout of ['halves', 'pairs'] as const) {
        for (const inverse of [false, true]) {
          const args: RopeShape = { batch, seq, heads, headDim, rotaryDim, layout, inverse };
          const what = `rope ${JSON.stringify(args)}`;
          const r = onBoth(
            () => [nf32(new Float32Array(size))],
            (be, [o]) => be.rope({ x, out: o, positions, cos, sin, ...args }),
          );
          closeAll(r.got, r.want, what);
          const inPlace = onBoth(
            () => [nf32(x)],
            (be, [o]) => be.rope({ x: o, out: o, positions, cos, sin, ...args }),
          );
          closeAll(inPlace.got, inPlace.want, `${what} in place`);
        }
      }
    }
  });

  it('attention forward and backward: causal, GQA, KV cache, rows seeing no key, packed (keyStart), sliding window, softcap', () => {
    const cases: AttentionShape[] = [
      { batch: 1, headsQ: 1, headsKv: 1, seqQ: 1, seqKv: 1, headDim: 1, scale: 1, causal: true },
      { batch: 2, headsQ: 4, headsKv: 2, seqQ: 17, seqKv: 17, headDim: 8, scale: 1 / Math.sqrt(8), causal: true },
      { batch: 1, headsQ: 3, headsKv: 3, seqQ: 5, seqKv: 17, headDim: 17, scale: 0.3, causal: true }, // KV cache
      { batch: 2, headsQ: 2, headsKv: 1, seqQ: 9, seqKv: 4, headDim: 3, scale: 0.5, causal: true }, // rows with no key
      { batch: 1, headsQ: 6, headsKv: 2, seqQ: 65, seqKv: 65, headDim: 16, scale: 0.25, causal: false },
      { batch: 2, headsQ: 4, headsKv: 4, seqQ: 128, seqKv: 128, headDim: 64, scale: 0.125, causal: true },
      // several blocks of kv pairs in the native kernel (the last one partial), with GQA
      { batch: 3, headsQ: 6, headsKv: 3, seqQ: 256, seqKv: 256, headDim: 4, scale: 0.5, causal: true },
      // heads read in place from [B, T, H, D] (a linear layer's output)
      { layout: 'bthd', batch: 2, headsQ: 4, headsKv: 2, seqQ: 17, seqKv: 17, headDim: 8, scale: 1 / Math.sqrt(8), causal: true },
      { layout: 'bthd', batch: 1, headsQ: 3, headsKv: 3, seqQ: 5, seqKv: 17, headDim: 17, scale: 0.3, causal: true },
      { layout: 'bthd', batch: 2, headsQ: 2, headsKv: 1, seqQ: 9, seqKv: 4, headDim: 3, scale: 0.5, causal: true },
      { layout: 'bthd', batch: 2, headsQ: 6, headsKv: 2, seqQ: 65, seqKv: 65, headDim: 16, scale: 0.25, causal: false },
      // packed sequences (issue 18): a block-diagonal causal mask from per-query first keys
      {
        batch: 2,
        headsQ: 4,
        headsKv: 2,
        seqQ: 17,
        seqKv: 17,
        headDim: 8,
        scale: 0.35,
        causal: true,
        keyStart: packedStarts(2, 17, [5, 1, 9]),
      },
      {
        layout: 'bthd',
        batch: 3,
        headsQ: 2,
        headsKv: 1,
        seqQ: 65,
        seqKv: 65,
        headDim: 16,
        scale: 0.25,
        causal: true,
        keyStart: packedStarts(3, 65, [30, 3, 17]),
      },
      // keyStart past a query's last visible key: a row that sees nothing (zeros, lse -inf)
      { batch: 1, headsQ: 2, headsKv: 2, seqQ: 4, seqKv: 4, headDim: 3, scale: 0.5, causal: true, keyStart: ni32([0, 2, 4, 3]) },
      { batch: 1, headsQ: 2, headsKv: 1, seqQ: 9, seqKv: 9, headDim: 5, scale: 0.5, causal: false, keyStart: packedStarts(1, 9, [4]) },
      // sliding windows (Gemma 2/3 local layers, Phi-3) and logit soft-capping (Gemma 2)
      { batch: 2, headsQ: 4, headsKv: 2, seqQ: 17, seqKv: 17, headDim: 8, scale: 0.35, causal: true, window: 4 },
      { batch: 1, headsQ: 3, headsKv: 3, seqQ: 5, seqKv: 17, headDim: 17, scale: 0.3, causal: true, window: 3 }, // KV cache
      { batch: 2, headsQ: 2, headsKv: 1, seqQ: 9, seqKv: 4, headDim: 3, scale: 0.5, causal: true, window: 1 }, // rows with no key
      { batch: 1, headsQ: 2, headsKv: 2, seqQ: 65, seqKv: 65, headDim: 16, scale: 1.5, causal: false, softcap: 5 },
      { layout: 'bthd', batch: 2, headsQ: 4, headsKv: 2, seqQ: 33, seqKv: 33, headDim: 8, scale: 1, causal: true, window: 7, softcap: 2 },
      // packed rows inside a sliding window, soft-capped
      {
        batch: 2,
        headsQ: 2,
        headsKv: 1,
        seqQ: 17,
        seqKv: 17,
        headDim: 8,
        scale: 0.5,
        causal: true,
        window: 5,
        softcap: 3,
        keyStart: packedStarts(2, 17, [6, 2]),
      },
      // long enough for query blocks (64 rows) whose first keys are hidden from every row
      // of the block, which the native kernel skips: windows, packed rows, and a keyStart
      // that is not monotone within a block (the block starts at its smallest)
      { batch: 1, headsQ: 2, headsKv: 1, seqQ: 200, seqKv: 200, headDim: 8, scale: 0.5, causal: true, window: 20, softcap: 4 },
      {
        layout: 'bthd',
        batch: 2,
        headsQ: 2,
        headsKv: 2,
        seqQ: 150,
        seqKv: 150,
        headDim: 8,
        scale: 0.4,
        causal: true,
        keyStart: packedStarts(2, 150, [40, 7, 70]),
      },
      {
        batch: 1,
        headsQ: 1,
        headsKv: 1,
        seqQ: 140,
        seqKv: 140,
        headDim: 4,
        scale: 0.5,
        causal: true,
        keyStart: ni32(Int32Array.from({ length: 140 }, (_, i) => (i < 64 ? 0 : i % 5 === 0 ? 66 : 100 + (i % 37)))),
      },
    ];
    for (const a of cases) {
      const what = `attention ${JSON.stringify(a)}`;
      const qn = a.batch * a.headsQ * a.seqQ * a.headDim;
      const kvn = a.batch * a.headsKv * a.seqKv * a.headDim;
      const q = nf32(randn(qn, next()));
      const k = nf32(randn(kvn, next()));
      const v = nf32(randn(kvn, next()));
      const f = onBoth(
        () => [nf32(new Float32Array(qn)), nf32(new Float32Array(a.batch * a.headsQ * a.seqQ))],
        (be, [out, lse]) => be.attention({ q, k, v, out, lse, ...a }),
      );
      closeAll(f.got, f.want, what);
      const dOut = nf32(randn(qn, next()));
      const b = onBoth(
        () => [nf32(new Float32Array(qn).fill(7)), nf32(new Float32Array(kvn).fill(7)), nf32(new Float32Array(kvn).fill(7))],
        (be, [dq, dk, dv]) => be.attentionBackward({ q, k, v, out: f.want[0], lse: f.want[1], dOut, dq, dk, dv, ...a }),
      );
      closeAll(b.got, b.want, `${what} backward`, 'f32', { atol: 1e-4 });
      const only = onBoth(
        () => [nf32(new Float32Array(kvn))],
        (be, [dv]) => be.attentionBackward({ q, k, v, out: f.want[0], lse: f.want[1], dOut, dq: null, dk: null, dv, ...a }),
      );
      closeAll(only.got, only.want, `${what} backward dv only`, 'f32', { atol: 1e-4 });
    }
  });

  it('embedding (f32 and bf16 tables) and its scatter-add backward with repeated ids', () => {
    for (const [vocab, dim, n] of [
      [1, 1, 1],
      [17, 3, 65],
      [50, 65, 17],
      [1000, 768, 512],
    ]) {
      const table = randn(vocab * dim, next());
      const ids = ni32(randint(n, next(), 0, vocab));
      for (const wd of ['f32', 'bf16'] as const) {
        const w = weightOf(table, wd) as FloatArray;
        const { got, want } = onBoth(
          () => [nf32(new Float32Array(n * dim))],
          (be, [o]) => be.embedding(w, ids, o, dim),
        );
        assert.deepEqual(got[0], want[0], `embedding ${wd} ${vocab}x${dim} n=${n}`);
      }
      const dy = nf32(randn(n * dim, next()));
      const start = randn(vocab * dim, next());
      const bw = onBoth(
        () => [nf32(start)],
        (be, [dw]) => be.embeddingBackward(ids, dy, dw, dim),
      );
      closeAll(bw.got, bw.want, `embeddingBackward ${vocab}x${dim} n=${n}`);
    }
    const bad = ni32([0, 5]);
    if (options.checksArguments)
      assert.throws(() => subject.embedding(nf32(new Float32Array(6)), bad, nf32(new Float32Array(6)), 3), /outside/);
  });

  it('crossEntropy: loss and gradient, ignored rows, in place over the logits', () => {
    // scale 100: logits far beyond exp's f32 range (|x| up to ~400), so a wrong row max overflows
    for (const [rows, vocab, scale] of [
      [1, 1, 3],
      [3, 17, 3],
      [17, 65, 3],
      [8, 50257, 3],
      [5, 203, 100],
    ]) {
      const logits = randn(rows * vocab, next()).map((v) => v * scale);
      const targets = ni32(randint(rows, next(), 0, vocab));
      if (rows > 2) targets[1] = -100;
      const lg = nf32(logits);
      const withGrad = onBoth(
        () => [nf32(new Float32Array(rows)), nf32(new Float32Array(rows * vocab).fill(NaN))],
        (be, [loss, d]) => be.crossEntropy({ logits: lg, targets, loss, dLogits: d, rows, vocab, ignoreIndex: -100, gradScale: 1 / rows }),
      );
      closeAll(withGrad.got, withGrad.want, `crossEntropy ${rows}x${vocab}`);
      const inPlace = onBoth(
        () => [nf32(new Float32Array(rows)), nf32(logits)],
        (be, [loss, d]) => be.crossEntropy({ logits: d, targets, loss, dLogits: d, rows, vocab, ignoreIndex: -100, gradScale: 0.5 }),
      );
      closeAll(inPlace.got, inPlace.want, `crossEntropy in place ${rows}x${vocab}`);
      const lossOnly = onBoth(
        () => [nf32(new Float32Array(rows))],
        (be, [loss]) => be.crossEntropy({ logits: lg, targets, loss, dLogits: null, rows, vocab, ignoreIndex: -100, gradScale: 1 }),
      );
      closeAll(lossOnly.got, lossOnly.want, `crossEntropy loss only ${rows}x${vocab}`);
    }
  });

  it('adamw steps match, with and without weight decay', () => {
    for (const n of [...ODD, 100000]) {
      const p0 = randn(n, next());
      const g = nf32(randn(n, next()));
      const m0 = randn(n, next()).map((v) => v * 0.1);
      const v0 = randu(n, next(), 0, 0.01);
      for (const [wd, step] of [
        [0, 1],
        [0.01, 7],
      ]) {
        const { got, want } = onBoth(
          () => [nf32(p0), nf32(m0), nf32(v0)],
          (be, [p, m, v]) => be.adamw({ param: p, grad: g, m, v, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, step }),
        );
        closeAll(got, want, `adamw n=${n} wd=${wd} step=${step}`);
      }
    }
  });
}

// --- matmul helpers ------------------------------------------------------------

function matmulArgs(
  batch: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  aDtype: 'f32' | 'bf16',
  bDtype: 'f32' | 'bf16',
  aBatchStride = m * k,
  bBatchStride = k * n,
): MatmulArgs {
  const aLen = (batch - 1) * aBatchStride + m * k;
  const bLen = (batch - 1) * bBatchStride + k * n;
  const av = randn(aLen, next());
  const bv = randn(bLen, next());
  return {
    a: aDtype === 'bf16' ? nbf16(av) : nf32(av),
    b: bDtype === 'bf16' ? nbf16(bv) : nf32(bv),
    c: nf32(randn(batch * m * n, next())),
    batch,
    m,
    n,
    k,
    transA,
    transB,
    aBatchStride,
    bBatchStride,
    alpha: 1,
    beta: 0,
    aDtype,
    bDtype,
  };
}

/** Subject vs reference on the same operands; C starts from the same values. `tol`
 * replaces the default tolerance (long sums). */
function checkMatmul(args: MatmulArgs, tol?: { rtol?: number; atol?: number }): void {
  const cStart = Float32Array.from(args.c);
  const { got, want } = onBoth(
    () => [nf32(cStart)],
    (be, [c]) => be.matmul({ ...args, c }),
  );
  const bf16 = (args.aDtype === 'bf16' || args.bDtype === 'bf16') && args.compute !== 'f32';
  const shape = { ...args, a: args.aDtype, b: args.bDtype, c: undefined, bias: args.bias ? 'f32' : undefined }; // the description, not the data
  // Both round operands identically; only f32-vs-f64 accumulation order differs.
  closeAll(got, want, `matmul ${JSON.stringify(shape)}`, 'f32', tol ?? (bf16 ? { rtol: 1e-3, atol: 1e-3 } : { atol: 1e-4 }));
}
