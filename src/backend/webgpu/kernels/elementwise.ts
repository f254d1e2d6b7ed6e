// Elementwise kernels: fill, bit copies and casts, axpby, unary ops and their
// derivatives, strided binary ops and copies, reduceSum, dropout, AdamW.
// One thread per element (FLAT_INDEX). Copies move u32 bits, so NaN payloads,
// denormals and bf16 patterns pass unchanged.

import { FLAT_ENTRY, FLAT_INDEX, flatGroups, Params, type Kernel } from '../device.js';
import { MAX_RANK, type Launcher } from './types.js';

const flat = (arrays: string[], body: string): Kernel => ({
  arrays,
  code: `${FLAT_ENTRY} {\n let i = ${FLAT_INDEX};\n if (i >= pu(0)) { return; }\n${body}\n}`,
});

const FILL = flat(['x'], 'x[i] = pf(1);');
const COPY_BITS = flat(['src:u32', 'dst:u32'], 'dst[i] = src[i];');
// Round-to-nearest-even to bf16 (reference/bf16.ts f32ToBf16Bits), kept as f32 bits.
const CAST_BF16 = flat(
  ['src:u32', 'dst:u32'],
  `let b = src[i];
 if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0u) { dst[i] = ((b >> 16u) | 0x40u) << 16u; return; }
 dst[i] = ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) << 16u;`,
);
const AXPBY = flat(['x', 'y'], 'if (pf(2) == 0.0) { y[i] = pf(1) * x[i]; } else { y[i] = pf(1) * x[i] + pf(2) * y[i]; }');

/** tanh through exp, saturated (a platform tanh may overflow for large |x|); also
 * attention's soft-capping (kernels/attention.ts). */
export const TANH = /* wgsl */ `
fn tanh_(x: f32) -> f32 {
  if (x > 15.0) { return 1.0; }
  if (x < -15.0) { return -1.0; }
  if (abs(x) < 0.01) { let x2 = x * x; return x * (1.0 - x2 / 3.0 + 2.0 * x2 * x2 / 15.0); }
  let e = exp(2.0 * x);
  return (e - 1.0) / (e + 1.0);
}`;
const UNARY_FNS = /* wgsl */ `
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const GELU_CUBIC: f32 = 0.044715;
fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
${TANH}
// Numerical Recipes erfcc, as reference/erf.ts
fn erfc_(z: f32) -> f32 {
  let a = abs(z);
  let t = 1.0 / (1.0 + 0.5 * a);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let tail = t * exp(-a * a + poly);
  return select(2.0 - tail, tail, z >= 0.0);
}
fn unaryValue(op: u32, x: f32) -> f32 {
  switch op {
    case 0u: { return select(0.0, x, x > 0.0); }
    case 1u: { return x * sigm(x); }
    case 2u: { return 0.5 * x * (1.0 + tanh_(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x))); }
    case 3u: { return 0.5 * x * erfc_(-x * INV_SQRT_2); }
    case 4u: { return exp(x); }
    case 5u: { return -x; }
    case 7u: { return tanh_(x); }
    default: { return x * x; }
  }
}
fn unaryDerivative(op: u32, x: f32) -> f32 {
  switch op {
    case 0u: { return select(0.0, 1.0, x > 0.0); }
    case 1u: { let s = sigm(x); return s * (1.0 + x * (1.0 - s)); }
    case 2u: {
      let t = tanh_(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
      let dInner = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x * x);
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dInner;
    }
    case 3u: { return 0.5 * erfc_(-x * INV_SQRT_2) + x * INV_SQRT_2PI * exp(-0.5 * x * x); }
    case 4u: { return exp(x); }
    case 5u: { return -1.0; }
    case 7u: { let t = tanh_(x); return 1.0 - t * t; }
    default: { return 2.0 * x; }
  }
}`;
const UNARY_OPS = ['relu', 'silu', 'gelu_tanh', 'gelu_erf', 'exp', 'neg', 'sqr', 'tanh'];
const UNARY: Kernel = { arrays: ['x', 'out'], code: `${UNARY_FNS}\n${flat([], 'out[i] = unaryValue(pu(1), x[i]);').code}` };
const UNARY_BACKWARD: Kernel = {
  arrays: ['x', 'dy', 'dx'],
  code: `${UNARY_FNS}\n${flat([], 'let v = dy[i] * unaryDerivative(pu(1), x[i]);\n if (pu(2) != 0u) { dx[i] = dx[i] + v; } else { dx[i] = v; }').code}`,
};

// Strided index space: P = [n, rank, shape[8], strides1[8], strides2[8], offset1, offset2, extra...].
const STRIDED = /* wgsl */ `
fn offsets(i: u32) -> vec2<u32> {
  var rest = i;
  var o = vec2<u32>(pu(26u), pu(27u));
  for (var d = i32(pu(1)) - 1; d >= 0; d--) {
    let size = pu(2u + u32(d));
    let c = rest % size;
    rest = rest / size;
    o += c * vec2<u32>(pu(10u + u32(d)), pu(18u + u32(d)));
  }
  return o;
}`;
function stridedParams(shape: readonly number[], s1: readonly number[], s2: readonly number[], o1: number, o2: number): Params {
  if (shape.length > MAX_RANK) throw new Error(`strided kernels take at most ${MAX_RANK} dims, got ${shape.length}`);
  const n = shape.reduce((a, b) => a * b, 1);
  return new Params().u(n).u(shape.length).list(shape, MAX_RANK, 1).list(s1, MAX_RANK, 0).list(s2, MAX_RANK, 0).u(o1).u(o2);
}
const BINARY: Kernel = {
  arrays: ['a', 'b', 'out'],
  code: `${STRIDED}\n${
    flat(
      [],
      `let o = offsets(i);
 let x = a[o.x]; let y = b[o.y];
 switch pu(28u) { case 0u: { out[i] = x + y; } case 1u: { out[i] = x - y; } case 2u: { out[i] = x * y; } default: { out[i] = x / y; } }`,
    ).code
  }`,
};
const copyKernel = (body: string, type: string): Kernel => ({
  arrays: [`src:${type}`, `dst:${type}`],
  code: `${STRIDED}\n${flat([], `let o = offsets(i);\n ${body}`).code}`,
});
const COPY = copyKernel('dst[o.y] = src[o.x];', 'u32');
const COPY_ADD_F32 = copyKernel('dst[o.y] = dst[o.y] + src[o.x];', 'f32');
const COPY_ADD_I32 = copyKernel('dst[o.y] = dst[o.y] + src[o.x];', 'i32');

/** Kahan-compensated \`sum += value\` (long f32 sums: the reference sums in f64). */
export const kahanAdd = (sum: string, comp: string, value: string) =>
  `{ let y_ = (${value}) - ${comp}; let t_ = ${sum} + y_; ${comp} = (t_ - ${sum}) - y_; ${sum} = t_; }`;

// P = [outer * inner, mid, inner, accumulate]
const REDUCE_SUM = flat(
  ['x', 'out'],
  `let o = i / pu(2); let j = i % pu(2);
 var s = 0.0;
 var comp = 0.0;
 for (var m = 0u; m < pu(1); m++) { ${kahanAdd('s', 'comp', 'x[(o * pu(1) + m) * pu(2) + j]')} }
 if (pu(3) != 0u) { out[i] = out[i] + s; } else { out[i] = s; }`,
);
// The shared hash (backend.ts dropoutUniform); kept iff (hash >> 8) >= ceil(p * 2^24),
// the same test as u >= p with u = (hash >> 8) / 2^24, in integers.
// P = [n, seed, offset, threshold, scale]
const DROPOUT = flat(
  ['x', 'out'],
  `var h = ((pu(2) + i) * 0x9e3779b1u) ^ pu(1);
 h ^= h >> 16u; h *= 0x7feb352du; h ^= h >> 15u; h *= 0x846ca68bu; h ^= h >> 16u;
 if ((h >> 8u) >= pu(3)) { out[i] = x[i] * pf(4); } else { out[i] = 0.0; }`,
);
// P = [n, lr, beta1, beta2, eps, decay, correction1, correction2]
const ADAMW = flat(
  ['param', 'grad', 'm', 'v'],
  `let gr = grad[i];
 let mi = pf(2) * m[i] + (1.0 - pf(2)) * gr;
 let vi = pf(3) * v[i] + (1.0 - pf(3)) * gr * gr;
 m[i] = mi; v[i] = vi;
 param[i] = param[i] * pf(5) - (pf(1) * (mi / pf(6))) / (sqrt(vi / pf(7)) + pf(4));`,
);

const n0 = (lengths: readonly number[]) => lengths[0]!;

export const elementwiseKernels: Record<string, Launcher> = {
  fill: ({ call, p, bufs, lengths }) => call.dispatch(FILL, new Params().u(n0(lengths)).f(p.value), bufs, flatGroups(n0(lengths))),
  copyBits: ({ call, bufs, lengths }) => call.dispatch(COPY_BITS, new Params().u(n0(lengths)), bufs, flatGroups(n0(lengths))),
  castToBf16: ({ call, bufs, lengths }) => call.dispatch(CAST_BF16, new Params().u(n0(lengths)), bufs, flatGroups(n0(lengths))),
  axpby: ({ call, p, bufs, lengths }) =>
    call.dispatch(AXPBY, new Params().u(n0(lengths)).f(p.alpha).f(p.beta), bufs, flatGroups(n0(lengths))),
  unary: ({ call, p, bufs, lengths }) =>
    call.dispatch(UNARY, new Params().u(n0(lengths)).u(opIndex(UNARY_OPS, p.op)), bufs, flatGroups(n0(lengths))),
  unaryBackward: ({ call, p, bufs, lengths }) =>
    call.dispatch(
      UNARY_BACKWARD,
      new Params()
        .u(n0(lengths))
        .u(opIndex(UNARY_OPS, p.op))
        .u(p.accumulate ? 1 : 0),
      bufs,
      flatGroups(n0(lengths)),
    ),
  binary: ({ call, p, bufs }) => {
    const params = stridedParams(p.shape, p.aStrides, p.bStrides, 0, 0).u(opIndex(['add', 'sub', 'mul', 'div'], p.op));
    call.dispatch(BINARY, params, bufs, flatGroups(params.words[0]!));
  },
  copyStrided: ({ call, p, bufs }) => {
    const params = stridedParams(p.shape, p.srcStrides, p.dstStrides, p.srcOffset, p.dstOffset);
    const kernel = !p.accumulate ? COPY : p.int ? COPY_ADD_I32 : COPY_ADD_F32;
    call.dispatch(kernel, params, bufs, flatGroups(params.words[0]!));
  },
  reduceSum: ({ call, p, bufs }) => {
    const n = p.outer * p.inner;
    call.dispatch(
      REDUCE_SUM,
      new Params()
        .u(n)
        .u(p.mid)
        .u(p.inner)
        .u(p.accumulate ? 1 : 0),
      bufs,
      flatGroups(n),
    );
  },
  dropout: ({ call, p, bufs, lengths }) =>
    call.dispatch(
      DROPOUT,
      new Params()
        .u(n0(lengths))
        .i(p.seed)
        .u(p.offset)
        .u(Math.min(2 ** 24, Math.ceil(p.p * 2 ** 24)))
        .f(p.scale),
      bufs,
      flatGroups(n0(lengths)),
    ),
  adamw: ({ call, p, bufs, lengths }) =>
    call.dispatch(
      ADAMW,
      new Params().u(n0(lengths)).f(p.lr).f(p.beta1).f(p.beta2).f(p.eps).f(p.decay).f(p.correction1).f(p.correction2),
      bufs,
      flatGroups(n0(lengths)),
    ),
};

function opIndex(ops: readonly string[], op: string): number {
  const i = ops.indexOf(op);
  if (i < 0) throw new Error(`op must be one of ${ops.join(', ')}, got ${op}`);
  return i;
}
