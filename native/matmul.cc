// C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] on oneDNN's matmul primitive.
// Transposes and batch strides are expressed as memory-descriptor strides (no
// copies); alpha is an output scale and beta a sum post-op. Primitives are cached
// by everything that shapes them, because creating one costs ~10 us per call.
#include <array>
#include <mutex>
#include <unordered_map>

#include "common.h"
#include "dnnl_context.h"

namespace cola {
namespace {

using dnnl::memory;
using Dims = memory::dims;

struct MatmulShape {
  int64_t batch, m, n, k;
  bool transA, transB;
  int64_t aBatchStride, bBatchStride;  // 0 broadcasts
  float alpha, beta;
  bool bf16;  // both operands bf16 (f32 accumulation and output)
};

using Key = std::array<int64_t, 11>;

struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = 1469598103934665603ull;
    for (int64_t v : k) h = (h ^ static_cast<uint64_t>(v)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

Key keyOf(const MatmulShape& s) {
  int32_t alphaBits, betaBits;
  std::memcpy(&alphaBits, &s.alpha, 4);
  std::memcpy(&betaBits, &s.beta, 4);
  int64_t flags = (s.transA ? 1 : 0) | (s.transB ? 2 : 0) | (s.bf16 ? 4 : 0);
  return Key{s.batch, s.m, s.n, s.k, s.aBatchStride, s.bBatchStride, flags, alphaBits, betaBits, 0, 0};
}

struct Entry {
  dnnl::matmul prim;
  memory::desc a, b, c;
};

// Strided descriptor of op(X) [rows, cols] where X is stored [rows, cols] or,
// when transposed, [cols, rows]; a leading batch dim of 1 when batchStride is 0.
memory::desc operandDesc(int64_t batch, int64_t rows, int64_t cols, bool trans, int64_t batchStride,
                         memory::data_type dt) {
  Dims strides2 = trans ? Dims{1, rows} : Dims{cols, 1};
  if (batch == 1) return memory::desc(Dims{rows, cols}, dt, strides2);
  int64_t bdim = batchStride == 0 ? 1 : batch;
  int64_t bstride = batchStride == 0 ? rows * cols : batchStride;
  return memory::desc(Dims{bdim, rows, cols}, dt, Dims{bstride, strides2[0], strides2[1]});
}

Entry createEntry(const MatmulShape& s) {
  auto dt = s.bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  memory::desc a = operandDesc(s.batch, s.m, s.k, s.transA, s.aBatchStride, dt);
  memory::desc b = operandDesc(s.batch, s.k, s.n, s.transB, s.bBatchStride, dt);
  memory::desc c = s.batch == 1 ? memory::desc(Dims{s.m, s.n}, memory::data_type::f32, Dims{s.n, 1})
                                : memory::desc(Dims{s.batch, s.m, s.n}, memory::data_type::f32,
                                               Dims{s.m * s.n, s.n, 1});
  dnnl::primitive_attr attr;
  if (s.alpha != 1.0f) attr.set_output_scales(0, {s.alpha});
  if (s.beta != 0.0f) {
    dnnl::post_ops po;
    po.append_sum(s.beta);
    attr.set_post_ops(po);
  }
  dnnl::matmul::desc d(a, b, c);
  dnnl::matmul::primitive_desc pd(d, attr, cpuEngine());
  return Entry{dnnl::matmul(pd), a, b, c};
}

std::mutex cacheMutex;
std::unordered_map<Key, Entry, KeyHash> cache;
constexpr size_t kMaxCached = 4096;  // a bound, not a tuning knob: shapes repeat every step

const Entry& primitiveFor(const MatmulShape& s) {
  std::lock_guard<std::mutex> lock(cacheMutex);
  Key key = keyOf(s);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= kMaxCached) cache.clear();
  return cache.emplace(key, createEntry(s)).first->second;
}

// Thread-local, 64-byte aligned scratch for rounding an f32 operand to bf16.
struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  ~Scratch() { alignedFree(p); }
  uint16_t* get(size_t elems) {
    size_t need = elems * sizeof(uint16_t);
    if (need > bytes) {
      alignedFree(p);
      p = alignedAlloc(need);
      bytes = need;
    }
    return static_cast<uint16_t*>(p);
  }
};

// Elements an operand spans: the last batch item's start plus one matrix.
int64_t spanOf(int64_t batch, int64_t rows, int64_t cols, int64_t batchStride) {
  return (batch - 1) * batchStride + rows * cols;
}

// C = beta * C when the product is empty (k == 0); oneDNN rejects zero dims.
void scaleOnly(float* c, int64_t count, float beta) {
  if (beta == 0.0f) {
    std::memset(c, 0, static_cast<size_t>(count) * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < count; i++) c[i] *= beta;
}

// Folds a batch that shares one B into the M dimension ([batch*m, k] @ [k, n]),
// the shape oneDNN's 2-D kernels run fastest (a linear layer over B*T rows).
void foldBroadcastB(MatmulShape& s) {
  if (s.batch > 1 && s.bBatchStride == 0 && !s.transA && s.aBatchStride == s.m * s.k) {
    s.m *= s.batch;
    s.batch = 1;
    s.aBatchStride = s.m * s.k;
  }
}

// matmul(a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  requireArgs(info, 13, "matmul");
  Napi::Env env = info.Env();
  FloatView a = floatArg(info, 0, "a");
  FloatView b = floatArg(info, 1, "b");
  View<float> c = arrayArg<float>(info, 2, "c");
  MatmulShape s{};
  s.batch = sizeArg(info, 3, "batch");
  s.m = sizeArg(info, 4, "m");
  s.n = sizeArg(info, 5, "n");
  s.k = sizeArg(info, 6, "k");
  s.transA = boolArg(info, 7, "transA");
  s.transB = boolArg(info, 8, "transB");
  s.aBatchStride = sizeArg(info, 9, "aBatchStride");
  s.bBatchStride = sizeArg(info, 10, "bBatchStride");
  s.alpha = static_cast<float>(numArg(info, 11, "alpha"));
  s.beta = static_cast<float>(numArg(info, 12, "beta"));
  if (s.batch == 0 || s.m == 0 || s.n == 0) return env.Undefined();
  requireLen(env, c.size, s.batch * s.m * s.n, "c");
  if (s.k == 0) {
    scaleOnly(c.data, s.batch * s.m * s.n, s.beta);
    return env.Undefined();
  }
  const int64_t aSpan = spanOf(s.batch, s.m, s.k, s.aBatchStride);
  const int64_t bSpan = spanOf(s.batch, s.k, s.n, s.bBatchStride);
  requireLen(env, a.size, aSpan, "a");
  requireLen(env, b.size, bSpan, "b");
  s.bf16 = a.bf16 || b.bf16;

  // Mixed dtypes: round the f32 operand to bf16 first, exactly as the reference.
  thread_local Scratch scratchA, scratchB;
  const void* aData = a.data;
  const void* bData = b.data;
  if (s.bf16 && !a.bf16) {
    uint16_t* t = scratchA.get(static_cast<size_t>(aSpan));
    convertF32ToBf16(static_cast<const float*>(a.data), t, aSpan);
    aData = t;
  }
  if (s.bf16 && !b.bf16) {
    uint16_t* t = scratchB.get(static_cast<size_t>(bSpan));
    convertF32ToBf16(static_cast<const float*>(b.data), t, bSpan);
    bData = t;
  }
  foldBroadcastB(s);
  const Entry& e = primitiveFor(s);
  memory am(e.a, cpuEngine(), const_cast<void*>(aData));
  memory bm(e.b, cpuEngine(), const_cast<void*>(bData));
  memory cm(e.c, cpuEngine(), c.data);
  e.prim.execute(cpuStream(), {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  cpuStream().wait();
  return env.Undefined();
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) { exportFn(env, exports, "matmul", Matmul); }

}  // namespace cola
