// Elementwise kernels: broadcast binary ops, activations and their derivatives,
// axpby, reduceSum, sumSquares and dropout (bit-exact with the shared hash).
#include "strided.h"
#include "vmath.h"

namespace cola {
namespace {

// Elements below which this family runs on one thread (waking the pool costs more
// than the work); COLA_PARALLEL_MIN overrides it for measurement (bench/threadsUnderLoad.sh).
const int64_t kParallelMin = parallelMinElements(32768);

enum class Binary { Add, Sub, Mul, Div };
enum class Unary { Relu, Silu, GeluTanh, GeluErf, Exp, Neg, Sqr, Tanh };

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;
constexpr float kGeluCubic = 0.044715f;  // Hendrycks & Gimpel 2016, tanh approximation

template <Binary op>
void binaryRows(const StridedSpace<3>& s, const float* a, const float* b, float* out) {
  forEachRow<3>(s, {0, 0, 0}, false, [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
    const float* pa = a + off[0];
    const float* pb = b + off[1];
    float* po = out + off[2];
    const int64_t sa = st[0], sb = st[1];
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
      float x = pa[i * sa], y = pb[i * sb];
      if constexpr (op == Binary::Add) po[i] = x + y;
      if constexpr (op == Binary::Sub) po[i] = x - y;
      if constexpr (op == Binary::Mul) po[i] = x * y;
      if constexpr (op == Binary::Div) po[i] = x / y;
    }
  });
}

// binary(BinaryArgs { op: 'add' | 'sub' | 'mul' | 'div', a, aStrides, b, bStrides, out, shape })
Napi::Value BinaryFn(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "binary");
  Napi::Env env = info.Env();
  const int op = asEnum(arg(r, "op"), "binary op", {"add", "sub", "mul", "div"});
  View<float> a = arrayArg<float>(r, "a");
  std::vector<int64_t> aStrides = intListArg(r, "aStrides");
  View<float> b = arrayArg<float>(r, "b");
  std::vector<int64_t> bStrides = intListArg(r, "bStrides");
  View<float> out = arrayArg<float>(r, "out");
  std::vector<int64_t> shape = intListArg(r, "shape");
  if (aStrides.size() != shape.size() || bStrides.size() != shape.size()) {
    throw argError(env, "binary: aStrides and bStrides must have one entry per dim of shape");
  }
  std::vector<int64_t> outStrides(shape.size());
  int64_t step = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] < 0) throw argError(env, "binary: shape must not have negative extents");
    outStrides[d] = step;
    step *= shape[d];
  }
  if (step == 0) return env.Undefined();
  requireInBounds(env, shape, aStrides, 0, a.size, "binary a");
  requireInBounds(env, shape, bStrides, 0, b.size, "binary b");
  requireLen(env, out.size, step, "binary out");
  StridedSpace<3> s = simplify<3>(shape, {aStrides, bStrides, outStrides});
  switch (op) {
    case 0: binaryRows<Binary::Add>(s, a.data, b.data, out.data); break;
    case 1: binaryRows<Binary::Sub>(s, a.data, b.data, out.data); break;
    case 2: binaryRows<Binary::Mul>(s, a.data, b.data, out.data); break;
    case 3: binaryRows<Binary::Div>(s, a.data, b.data, out.data); break;
    default: break;  // asEnum admits only the four
  }
  return env.Undefined();
}

#pragma omp declare simd uniform(op)
inline float unaryValue(Unary op, float x) {
  switch (op) {
    case Unary::Relu: return x > 0.0f ? x : 0.0f;
    case Unary::Silu: return x * sigmoidF(x);
    case Unary::GeluTanh: return 0.5f * x * (1.0f + tanhF(kSqrt2OverPi * (x + kGeluCubic * x * x * x)));
    case Unary::GeluErf: return 0.5f * x * erfcF(-x * kInvSqrt2);  // erfc form: no cancellation for x << 0
    case Unary::Exp: return expF(x);
    case Unary::Neg: return -x;
    case Unary::Sqr: return x * x;
    case Unary::Tanh: return tanhF(x);
  }
  return x;
}

#pragma omp declare simd uniform(op)
inline float unaryDerivative(Unary op, float x) {
  switch (op) {
    case Unary::Relu: return x > 0.0f ? 1.0f : 0.0f;  // relu'(0) = 0, as PyTorch
    case Unary::Silu: {
      float s = sigmoidF(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case Unary::GeluTanh: {
      float t = tanhF(kSqrt2OverPi * (x + kGeluCubic * x * x * x));
      float dInner = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * dInner;
    }
    case Unary::GeluErf: return 0.5f * erfcF(-x * kInvSqrt2) + x * kInvSqrt2Pi * expF(-0.5f * x * x);
    case Unary::Exp: return expF(x);
    case Unary::Neg: return -1.0f;
    case Unary::Sqr: return 2.0f * x;
    case Unary::Tanh: {
      float t = tanhF(x);
      return 1.0f - t * t;
    }
  }
  return 0.0f;
}

// A UnaryOp name (backend.ts), in the order of enum Unary.
Unary unaryOp(const Arg& a) {
  return static_cast<Unary>(asEnum(a, "unary op", {"relu", "silu", "gelu_tanh", "gelu_erf", "exp", "neg", "sqr", "tanh"}));
}

template <Unary op>
void unaryLoop(const float* x, float* out, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; i++) out[i] = unaryValue(op, x[i]);
}

template <Unary op>
void unaryBackwardLoop(const float* x, const float* dy, float* dx, int64_t n, bool accumulate) {
  if (accumulate) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * unaryDerivative(op, x[i]);
  } else {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * unaryDerivative(op, x[i]);
  }
}

// Instantiates a loop template for the runtime op, so the op is a constant inside.
template <template <Unary> class F, typename... Args>
void dispatchUnary(Unary op, Args... args) {
  switch (op) {
    case Unary::Relu: F<Unary::Relu>::run(args...); break;
    case Unary::Silu: F<Unary::Silu>::run(args...); break;
    case Unary::GeluTanh: F<Unary::GeluTanh>::run(args...); break;
    case Unary::GeluErf: F<Unary::GeluErf>::run(args...); break;
    case Unary::Exp: F<Unary::Exp>::run(args...); break;
    case Unary::Neg: F<Unary::Neg>::run(args...); break;
    case Unary::Sqr: F<Unary::Sqr>::run(args...); break;
    case Unary::Tanh: F<Unary::Tanh>::run(args...); break;
  }
}

template <Unary op>
struct UnaryForward {
  static void run(const float* x, float* out, int64_t n) { unaryLoop<op>(x, out, n); }
};
template <Unary op>
struct UnaryBackward {
  static void run(const float* x, const float* dy, float* dx, int64_t n, bool acc) {
    unaryBackwardLoop<op>(x, dy, dx, n, acc);
  }
};

// unary(op, x, out); op a UnaryOp name
Napi::Value UnaryFn(const Napi::CallbackInfo& info) {
  requireArgs(info, 3, "unary");
  Unary op = unaryOp(arg(info, 0));
  View<float> x = arrayArg<float>(info, 1, "x");
  View<float> out = arrayArg<float>(info, 2, "out");
  if (x.size != out.size) throw argError(info.Env(), "unary: x and out must have equal lengths");
  dispatchUnary<UnaryForward>(op, static_cast<const float*>(x.data), out.data, static_cast<int64_t>(x.size));
  return info.Env().Undefined();
}

// unaryBackward(UnaryBackwardArgs { op, x, dy, dx, accumulate })
Napi::Value UnaryBackwardFn(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "unaryBackward");
  Unary op = unaryOp(arg(r, "op"));
  View<float> x = arrayArg<float>(r, "x");
  View<float> dy = arrayArg<float>(r, "dy");
  View<float> dx = arrayArg<float>(r, "dx");
  bool acc = boolArg(r, "accumulate");
  if (x.size != dy.size || x.size != dx.size) throw argError(info.Env(), "unaryBackward: arrays must have equal lengths");
  dispatchUnary<UnaryBackward>(op, static_cast<const float*>(x.data), static_cast<const float*>(dy.data), dx.data,
                               static_cast<int64_t>(x.size), acc);
  return info.Env().Undefined();
}

// axpby(alpha, x, beta, y): y = alpha x + beta y; beta 0 overwrites (NaN in y must not leak)
Napi::Value Axpby(const Napi::CallbackInfo& info) {
  requireArgs(info, 4, "axpby");
  const float alpha = static_cast<float>(numArg(info, 0, "alpha"));
  View<float> x = arrayArg<float>(info, 1, "x");
  const float beta = static_cast<float>(numArg(info, 2, "beta"));
  View<float> y = arrayArg<float>(info, 3, "y");
  if (x.size != y.size) throw argError(info.Env(), "axpby: x and y must have equal lengths");
  const int64_t n = static_cast<int64_t>(y.size);
  if (beta == 0.0f) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; i++) y.data[i] = alpha * x.data[i];
  } else {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; i++) y.data[i] = alpha * x.data[i] + beta * y.data[i];
  }
  return info.Env().Undefined();
}

// reduceSum(ReduceSumArgs { x, outer, mid, inner, out, accumulate }): out[o, i] (+)= Σ_m x[o, m, i]
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "reduceSum");
  Napi::Env env = info.Env();
  View<float> x = arrayArg<float>(r, "x");
  const int64_t outer = sizeArg(r, "outer"), mid = sizeArg(r, "mid"), inner = sizeArg(r, "inner");
  View<float> out = arrayArg<float>(r, "out");
  const bool acc = boolArg(r, "accumulate");
  requireLen(env, x.size, outer * mid * inner, "reduceSum x");
  requireLen(env, out.size, outer * inner, "reduceSum out");
  // Columns of `inner` are split into blocks so [rows, cols] -> [cols] (a bias
  // gradient: outer 1) still spreads over the cores; each block walks mid rows
  // contiguously and sums in f64 like the reference.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
#pragma omp parallel for collapse(2) schedule(static) if (outer * mid * inner > kParallelMin)
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t blk = 0; blk < blocks; blk++) {
      const int64_t i0 = blk * kBlock, i1 = std::min(inner, i0 + kBlock);
      double sum[kBlock] = {0};
      for (int64_t m = 0; m < mid; m++) {
        const float* row = x.data + (o * mid + m) * inner;
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) sum[i - i0] += row[i];
      }
      float* dst = out.data + o * inner;
      for (int64_t i = i0; i < i1; i++) dst[i] = acc ? static_cast<float>(dst[i] + sum[i - i0]) : static_cast<float>(sum[i - i0]);
    }
  }
  return env.Undefined();
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  requireArgs(info, 1, "sumSquares");
  View<float> x = arrayArg<float>(info, 0, "x");
  const int64_t n = static_cast<int64_t>(x.size);
  double sum = 0.0;
#pragma omp parallel for simd reduction(+ : sum) schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; i++) sum += static_cast<double>(x.data[i]) * x.data[i];
  return Napi::Number::New(info.Env(), sum);
}

// The shared dropout hash (lowbias32), bit-identical to dropoutUniform in
// src/backend/backend.ts: returns the 24-bit integer u * 2^24.
#pragma omp declare simd
inline uint32_t dropoutBits(uint32_t seed, uint32_t index) {
  uint32_t x = (index * 0x9e3779b1u) ^ seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x >> 8;
}

// JS ToUint32 of an integral double (Math.imul and ^ wrap modulo 2^32).
inline uint32_t toUint32(double d) { return static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(d))); }

// dropout(DropoutArgs { x, out, p, seed, offset }): out = keep ? x / (1 - p) : 0
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "dropout");
  View<float> x = arrayArg<float>(r, "x");
  View<float> out = arrayArg<float>(r, "out");
  const double p = numArg(r, "p");
  const uint32_t seed = toUint32(numArg(r, "seed"));
  const double offsetD = numArg(r, "offset");
  if (x.size != out.size) throw argError(info.Env(), "dropout: x and out must have equal lengths");
  const uint32_t offset = toUint32(offsetD);
  // As the reference: keep iff u >= p compared in f64, scaled by x * (1 / (1 - p)) in f64.
  const double scale = 1.0 / (1.0 - p);
  const int64_t n = static_cast<int64_t>(x.size);
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; i++) {
    double u = static_cast<double>(dropoutBits(seed, offset + static_cast<uint32_t>(i))) * (1.0 / 16777216.0);
    out.data[i] = u >= p ? static_cast<float>(x.data[i] * scale) : 0.0f;
  }
  return info.Env().Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "binary", BinaryFn);
  exportFn(env, exports, "unary", UnaryFn);
  exportFn(env, exports, "unaryBackward", UnaryBackwardFn);
  exportFn(env, exports, "axpby", Axpby);
  exportFn(env, exports, "reduceSum", ReduceSum);
  exportFn(env, exports, "sumSquares", SumSquares);
  exportFn(env, exports, "dropout", Dropout);
}

}  // namespace cola
