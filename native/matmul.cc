// C[b] = alpha * op(A[b]) @ op(B[b]) (+ bias) + beta * C[b] on oneDNN's matmul primitive.
// Transposes and batch strides are expressed as memory-descriptor strides (no
// copies); alpha is an output scale and beta a sum post-op. Primitives are cached
// by everything that shapes them, because creating one costs ~10 us per call.
#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "common.h"
#include "dnnl_context.h"
#include "gemm.h"

namespace cola {

// Whether oneDNN has a bf16 matmul on this CPU. oneDNN 2.x builds bf16 products
// on AVX-512 (natively with AVX512_BF16/AMX, emulated without) but has none on
// AVX2-only CPUs (AMD Zen 2/3, Intel before Skylake-X, many KVM guests): there a
// bf16 product is computed as its exact f32 equivalent instead (issue 15), the
// f32 operand rounded to bf16 first, so the numbers are those of bf16 compute.
bool bf16MatmulNative() {
  static const bool native = [] {
    try {
      using dnnl::memory;
      memory::desc a(memory::dims{16, 16}, memory::data_type::bf16, memory::dims{16, 1});
      memory::desc c(memory::dims{16, 16}, memory::data_type::f32, memory::dims{16, 1});
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, a, c), cpuEngine());
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return native;
}

namespace {

using dnnl::memory;
using Dims = memory::dims;

struct MatmulShape {
  int64_t batch, m, n, k;
  bool transA, transB;
  int64_t aBatchStride, bBatchStride;  // 0 broadcasts
  float alpha, beta;
  bool bf16;  // both operands bf16 (f32 accumulation and output)
  bool bias;  // an f32 [n] bias (a linear layer's), added by the primitive itself
  bool userScratch;  // caller-provided scratchpad: needed to run on several threads at once
  bool packedB;  // B is in oneDNN's blocked layout (packB), not strided
  int64_t lda, ldb, ldc;  // row strides of a single strided product (gemmF32); 0: dense
};

using Key = std::array<int64_t, 12>;

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
  int64_t flags = (s.transA ? 1 : 0) | (s.transB ? 2 : 0) | (s.bf16 ? 4 : 0) | (s.bias ? 8 : 0) | (s.userScratch ? 16 : 0) | (s.packedB ? 32 : 0);
  // Strides: lda and ldb pack into one slot (each < 2^31 elements), ldc in another.
  return Key{s.batch, s.m, s.n, s.k, s.aBatchStride, s.bBatchStride, flags, alphaBits, betaBits, (s.lda << 32) | s.ldb, s.ldc, 0};
}

struct Entry {
  dnnl::matmul prim;
  memory::desc a, b, c, bias, scratch;
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

// op(X) [rows, cols] of a matrix stored with row stride ld ([rows, cols], or [cols, rows] when trans).
memory::desc stridedDesc(int64_t rows, int64_t cols, bool trans, int64_t ld, memory::data_type dt) {
  return memory::desc(Dims{rows, cols}, dt, trans ? Dims{1, ld} : Dims{ld, 1});
}

memory::data_type dtypeOf(bool bf16) { return bf16 ? memory::data_type::bf16 : memory::data_type::f32; }


// The blocked layout oneDNN's matmul picks for a [k, n] B of this dtype. On the
// CPUs seen it depends on the dtype only (BA16a64b for f32, BA16a64b2a for bf16),
// not on M, so one packed copy serves every batch of rows.
memory::desc packedDesc(int64_t k, int64_t n, memory::data_type dt) {
  static std::mutex mutex;
  static std::unordered_map<Key, memory::desc, KeyHash> descs;
  std::lock_guard<std::mutex> lock(mutex);
  Key key{k, n, static_cast<int64_t>(dt), 0, 0, 0, 0, 0, 0, 0, 0, 0};
  auto it = descs.find(key);
  if (it != descs.end()) return it->second;
  // No bf16 product here to pick a layout for: a bf16 copy stays row-major
  // (packB still works; a product never reads it, see bf16MatmulNative).
  if (dt == memory::data_type::bf16 && !bf16MatmulNative()) return descs.emplace(key, memory::desc(Dims{k, n}, dt, Dims{n, 1})).first->second;
  memory::desc a(Dims{256, k}, dt, Dims{k, 1});
  memory::desc b(Dims{k, n}, dt, memory::format_tag::any);
  memory::desc c(Dims{256, n}, memory::data_type::f32, Dims{n, 1});
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), cpuEngine());
  return descs.emplace(key, pd.weights_desc()).first->second;
}

// Whether `v` has room for a [k, n] B of its own dtype in the packed layout.
bool holdsPacked(const FloatView& v, int64_t k, int64_t n) {
  return static_cast<size_t>(v.size) * (v.bf16 ? 2 : 4) >= packedDesc(k, n, dtypeOf(v.bf16)).get_size();
}

Entry createEntry(const MatmulShape& s) {
  auto dt = dtypeOf(s.bf16);
  const bool strided = s.lda != 0;
  memory::desc a = strided ? stridedDesc(s.m, s.k, s.transA, s.lda, dt) : operandDesc(s.batch, s.m, s.k, s.transA, s.aBatchStride, dt);
  memory::desc b = s.packedB ? packedDesc(s.k, s.n, dt)
                   : strided ? stridedDesc(s.k, s.n, s.transB, s.ldb, dt)
                             : operandDesc(s.batch, s.k, s.n, s.transB, s.bBatchStride, dt);
  memory::desc c = strided        ? stridedDesc(s.m, s.n, false, s.ldc, memory::data_type::f32)
                   : s.batch == 1 ? memory::desc(Dims{s.m, s.n}, memory::data_type::f32, Dims{s.n, 1})
                                  : memory::desc(Dims{s.batch, s.m, s.n}, memory::data_type::f32,
                                                 Dims{s.m * s.n, s.n, 1});
  dnnl::primitive_attr attr;
  // oneDNN's default scratchpad is one global buffer shared by all primitives,
  // so concurrent executions (attention's per-thread products) would trample it.
  if (s.userScratch) attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (s.alpha != 1.0f) attr.set_output_scales(0, {s.alpha});
  if (s.beta != 0.0f) {
    dnnl::post_ops po;
    po.append_sum(s.beta);
    attr.set_post_ops(po);
  }
  memory::desc bias;
  if (s.bias) {
    bias = s.batch == 1 ? memory::desc(Dims{1, s.n}, memory::data_type::f32, Dims{s.n, 1})
                        : memory::desc(Dims{1, 1, s.n}, memory::data_type::f32, Dims{s.n, s.n, 1});
  }
  dnnl::matmul::desc d = s.bias ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
  dnnl::matmul::primitive_desc pd(d, attr, cpuEngine());
  return Entry{dnnl::matmul(pd), a, b, c, bias, pd.scratchpad_desc()};
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
  // Gives a large block back to malloc, where the next tensors reuse it: kept, the
  // bf16 copy of the LM head's [rows, vocab] gradient stayed resident for the rest
  // of the step (~50 MB at OPT's vocabulary, issue #7). Small ones stay cached.
  void shrink() {
    if (bytes <= kKeepBytes) return;
    alignedFree(p);
    p = nullptr;
    bytes = 0;
  }
  static constexpr size_t kKeepBytes = size_t{8} << 20;
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

// dst = src rounded to bf16 precision, kept in f32 (emulated bf16 compute).
void roundThroughBf16(const float* src, float* dst, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) dst[i] = bf16ToF32(f32ToBf16(src[i]));
}

void addBiasRows(float* c, const float* bias, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < n; j++) c[r * n + j] += bias[j];
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

// A plain, non-transposed B is copied into the blocked layout inside the product,
// by every thread that reads it; copying it once first (a parallel reorder) and
// running on the copy was 4-10% faster for bf16 and up to 1.4x for f32 at the
// bench's shapes with M >= 512 (bench/RESULTS.md). Not for a transposed B (the
// transposing reorder cost more than it saved at 512x4096x4096), skinny products
// (nothing to amortise) or few rows (the copy is paid per call).
bool worthPackingPerCall(const MatmulShape& s) {
  return s.batch == 1 && !s.transB && s.lda == 0 && s.m >= 512 && s.k >= 256 && s.n >= 256;
}

// B [k, n] (row-major, already in the product's dtype) reordered into scratch.
const void* packPlainB(const void* b, const MatmulShape& s, Scratch& scratch) {
  auto dt = dtypeOf(s.bf16);
  memory::desc dst = packedDesc(s.k, s.n, dt);
  void* out = scratch.get(dst.get_size() / sizeof(uint16_t) + 1);
  memory src(operandDesc(1, s.k, s.n, false, 0, dt), cpuEngine(), const_cast<void*>(b));
  memory dstMem(dst, cpuEngine(), out);
  dnnl::reorder(src, dstMem).execute(cpuStream(), src, dstMem);
  return out;
}

// f32 product of a bf16-stored B (MatmulArgs.compute 'f32' on a CPU without bf16
// hardware, issue 15) without a full f32 copy of B: B is widened a panel of stored
// rows at a time (our vectorised convertBf16ToF32) into a thread-local f32 buffer,
// and each panel multiplied by dnnl_sgemm as soon as it is written. The stored rows
// of B are op(B)'s columns when transB ([n, k]: a panel is a block of C's columns)
// and op(B)'s rows otherwise ([k, n]: a panel is a slice of the K sum, accumulated
// into C), so a panel is always one contiguous block of B.
// This replaced one oneDNN reorder of the whole B into the packed f32 layout per
// call, which oneDNN 2.6 runs on its reference (non-jit) code for a bf16 source
// without AVX-512: 35-42 ms for a 768x768 weight, 3-4x the product it fed
// (ONEDNN_VERBOSE, AMD EPYC AVX2). Single-thread GFLOP per CPU-second, same session:
// old 38-47 at 2048x768x768, 15-20 at 512x2048x8192, 9-12 at the LM head's
// 256x768x50272; panels 65-79, the same as an f32 B (62-80): widening costs ~0.3 ns
// a value, 10/M of the product for M rows (bench/RESULTS.md, session 6 notes).
//
// A panel holds up to kPanelElems values (4 MiB of f32; 2^18 and 2^22 measured the
// same) and at least kPanelMinRows stored rows, so each sgemm stays a wide product.
constexpr int64_t kPanelElems = int64_t{1} << 20;
constexpr int64_t kPanelMinRows = 64;

int64_t panelRows(int64_t storedRows, int64_t rowLen) {
  int64_t rows = std::max<int64_t>(kPanelMinRows, kPanelElems / rowLen / kPanelMinRows * kPanelMinRows);
  return std::min(rows, storedRows);
}

// c[r, j] += bias[j] for a [rows, cols] block of C with row stride ldc.
void addBiasBlock(float* c, int64_t ldc, const float* bias, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > 262144)
  for (int64_t r = 0; r < rows; r++) {
    float* row = c + r * ldc;
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) row[j] += bias[j];
  }
}

void sgemmOrThrow(char transA, char transB, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  dnnl_status_t st = dnnl_sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(static_cast<int>(st)));
}

// C [m, n] = alpha op(A) op(B) + beta C (+ bias [n]) for an f32 A (op(A) [m, k],
// stored [m, k] or [k, m] when transA) and a bf16 B stored [k, n] or [n, k] when
// transB; a single product (s.batch == 1, dense strides).
void widenedPanelProduct(const MatmulShape& s, const float* a, const uint16_t* b, float* c, const float* bias) {
  thread_local Scratch panelScratch;
  const int64_t storedRows = s.transB ? s.n : s.k;
  const int64_t rowLen = s.transB ? s.k : s.n;
  const int64_t step = panelRows(storedRows, rowLen);
  auto* panel = reinterpret_cast<float*>(panelScratch.get(static_cast<size_t>(step * rowLen) * 2));
  const char ta = s.transA ? 'T' : 'N';
  const int64_t lda = s.transA ? s.m : s.k;
  for (int64_t r0 = 0; r0 < storedRows; r0 += step) {
    const int64_t rows = std::min(step, storedRows - r0);
    convertBf16ToF32(b + r0 * rowLen, panel, rows * rowLen);
    if (s.transB) {
      // C[:, r0:r0+rows] = alpha op(A) panel^T + beta C[:, r0:r0+rows] (+ bias)
      sgemmOrThrow(ta, 'T', s.m, rows, s.k, s.alpha, a, lda, panel, s.k, s.beta, c + r0, s.n);
      if (bias != nullptr) addBiasBlock(c + r0, s.n, bias + r0, s.m, rows);
    } else {
      // C += alpha op(A)[:, r0:r0+rows] panel, C scaled by beta on the first panel
      const float* aCols = s.transA ? a + r0 * s.m : a + r0;
      sgemmOrThrow(ta, 'N', s.m, s.n, rows, s.alpha, aCols, lda, panel, s.n, r0 == 0 ? s.beta : 1.0f, c, s.n);
    }
  }
  if (!s.transB && bias != nullptr) addBiasBlock(c, s.n, bias, s.m, s.n);
  panelScratch.shrink();
}

// oneDNN's gemm (dnnl_sgemm: packs panels of B as it goes, like OpenBLAS) beat
// the whole-B reorder above for f32 products with a wide plain B: at 512x4096x4096
// 333-335 vs 310-320 GFLOP/s, at 2048x768x3072 363-369 vs 341-351 (C++ harness,
// this machine). It was slower where N is small (2048x768x768: ~200-240 vs ~320).
bool worthSgemm(const MatmulShape& s) {
  return !s.bf16 && !s.bias && !s.packedB && s.batch == 1 && !s.transB && s.lda == 0 && s.m >= 512 && s.k >= 256 && s.n >= 2048;
}

// matmul(MatmulArgs); aDtype and bDtype are checked in TypeScript (src/backend/native/index.ts)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "matmul");
  Napi::Env env = info.Env();
  FloatView a = floatArg(r, "a");
  FloatView b = floatArg(r, "b");
  View<float> c = arrayArg<float>(r, "c");
  MatmulShape s{};
  s.batch = sizeArg(r, "batch");
  s.m = sizeArg(r, "m");
  s.n = sizeArg(r, "n");
  s.k = sizeArg(r, "k");
  s.transA = boolArg(r, "transA");
  s.transB = boolArg(r, "transB");
  s.aBatchStride = sizeArg(r, "aBatchStride");
  s.bBatchStride = sizeArg(r, "bBatchStride");
  s.alpha = static_cast<float>(numArg(r, "alpha"));
  s.beta = static_cast<float>(numArg(r, "beta"));
  View<float> bias = optArrayArg<float>(r, "bias");
  s.bias = bias.data != nullptr;
  // Optional: B as packB wrote it. b stays the operand of record (its size is
  // checked, and it is what a product falls back to when packed cannot serve).
  FloatView packed = floatArg(r, "bPacked", true);
  // How a product with a bf16 operand runs: in bf16 (the f32 operand rounded), or
  // in f32 (the bf16 operand widened, exactly) where the CPU lacks bf16 hardware.
  const bool computeF32 = asEnum(arg(r, "compute"), "compute", {"bf16", "f32"}, 0) == 1;
  if (s.bias && s.alpha != 1.0f) throw argError(env, "matmul: a bias needs alpha 1");
  if (s.batch == 0 || s.m == 0 || s.n == 0) return env.Undefined();
  requireLen(env, c.size, s.batch * s.m * s.n, "c");
  if (s.bias) requireLen(env, bias.size, s.n, "bias");
  if (s.k == 0) {
    scaleOnly(c.data, s.batch * s.m * s.n, s.beta);
    if (s.bias) addBiasRows(c.data, bias.data, s.batch * s.m, s.n);
    return env.Undefined();
  }
  const int64_t aSpan = spanOf(s.batch, s.m, s.k, s.aBatchStride);
  const int64_t bSpan = spanOf(s.batch, s.k, s.n, s.bBatchStride);
  requireLen(env, a.size, aSpan, "a");
  requireLen(env, b.size, bSpan, "b");
  s.bf16 = (a.bf16 || b.bf16) && !computeF32;
  // bf16 compute where oneDNN has no bf16 product: f32 on operands rounded to bf16.
  const bool emulate = s.bf16 && !bf16MatmulNative();
  if (emulate) s.bf16 = false;
  foldBroadcastB(s);
  // A packed copy serves when it holds the product's dtype: b's own, or, for an f32
  // product of a bf16 b, its widened f32 copy (packedWeight.ts, within a budget);
  // not an f32 b's own copy when emulating (its values are not rounded to bf16).
  if (packed.data != nullptr && s.batch == 1 && packed.bf16 == s.bf16 && (packed.bf16 == b.bf16 || !s.bf16) && !(emulate && !b.bf16)) {
    if (!holdsPacked(packed, s.k, s.n)) throw argError(env, "matmul: bPacked is smaller than the packed layout of a [k, n] B");
    s.packedB = true;
  }
  const void* bPackedData = s.packedB ? packed.data : nullptr;

  if (!a.bf16 && !b.bf16 && worthSgemm(s)) {
    // Row-major C = alpha op(A) B + beta C; A stored [m, k], or [k, m] when transposed.
    const auto* af = static_cast<const float*>(a.data);
    const auto* bf = static_cast<const float*>(b.data);
    dnnl_status_t st = dnnl_sgemm(s.transA ? 'T' : 'N', 'N', s.m, s.n, s.k, s.alpha, af, s.transA ? s.m : s.k, bf, s.n, s.beta, c.data, s.n);
    if (st != dnnl_success) throw argError(env, "matmul: dnnl_sgemm failed with status " + std::to_string(static_cast<int>(st)));
    return env.Undefined();
  }

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
  if (emulate && !a.bf16) {
    auto* t = reinterpret_cast<float*>(scratchA.get(static_cast<size_t>(aSpan) * 2));
    roundThroughBf16(static_cast<const float*>(a.data), t, aSpan);
    aData = t;
  }
  if (emulate && !b.bf16) {
    auto* t = reinterpret_cast<float*>(scratchB.get(static_cast<size_t>(bSpan) * 2));
    roundThroughBf16(static_cast<const float*>(b.data), t, bSpan);
    bData = t;
  }
  thread_local Scratch scratchP;
  // f32 compute: widen each bf16 operand (a single B panel by panel, inside the product).
  if (!s.bf16 && a.bf16) {
    auto* t = reinterpret_cast<float*>(scratchA.get(static_cast<size_t>(aSpan) * 2));
    convertBf16ToF32(static_cast<const uint16_t*>(a.data), t, aSpan);
    aData = t;
  }
  if (!s.bf16 && b.bf16 && !s.packedB && s.batch == 1 && gemmAvx2Suits() && gemmAvx2Worth(s.m, s.n, s.k)) {
    // cola's blocked kernel widens B inside its packing (native/gemm.cc)
    GemmArgs g{s.m, s.n, s.k, static_cast<const float*>(aData), s.transA ? s.m : s.k, s.transA, b.data, s.transB ? s.k : s.n, s.transB, true,
               c.data, s.n, s.alpha, s.beta, bias.data};
    gemmAvx2(g);
    scratchA.shrink();
    return env.Undefined();
  }
  if (!s.bf16 && b.bf16 && !s.packedB && s.batch == 1) {
    widenedPanelProduct(s, static_cast<const float*>(aData), static_cast<const uint16_t*>(b.data), c.data, bias.data);
    scratchA.shrink();
    return env.Undefined();
  }
  if (!s.bf16 && b.bf16 && !s.packedB) {  // a B per batch item: widened whole
    auto* t = reinterpret_cast<float*>(scratchB.get(static_cast<size_t>(bSpan) * 2));
    convertBf16ToF32(static_cast<const uint16_t*>(b.data), t, bSpan);
    bData = t;
  }
  if (!s.packedB && worthPackingPerCall(s)) {
    bPackedData = packPlainB(bData, s, scratchP);
    s.packedB = true;
  }
  const Entry& e = primitiveFor(s);
  memory am(e.a, cpuEngine(), const_cast<void*>(aData));
  memory bm(e.b, cpuEngine(), const_cast<void*>(s.packedB ? bPackedData : bData));
  memory cm(e.c, cpuEngine(), c.data);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
  if (s.bias) args.emplace(DNNL_ARG_BIAS, memory(e.bias, cpuEngine(), bias.data));
  e.prim.execute(cpuStream(), args);
  cpuStream().wait();
  scratchA.shrink();
  scratchB.shrink();
  scratchP.shrink();
  return env.Undefined();
}

}  // namespace

void gemmF32(const Gemm& g, const float* a, const float* b, float* c) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) {
    for (int64_t r = 0; r < g.m; r++) scaleOnly(c + r * g.ldc, g.n, g.beta);
    return;
  }
  MatmulShape s{1, g.m, g.n, g.k, g.transA, g.transB, 0, 0, g.alpha, g.beta, false, false, true, false, g.lda, g.ldb, g.ldc};
  const Entry& e = primitiveFor(s);
  memory am(e.a, cpuEngine(), const_cast<float*>(a));
  memory bm(e.b, cpuEngine(), const_cast<float*>(b));
  memory cm(e.c, cpuEngine(), c);
  // A stream per thread: kernels call this from inside OpenMP loops, where each
  // thread runs its own (then single-threaded) products; streams are not
  // thread-safe, primitives are.
  thread_local dnnl::stream stream(cpuEngine());
  thread_local Scratch scratch;
  memory sm(e.scratch, cpuEngine(), scratch.get(e.scratch.get_size() / sizeof(uint16_t) + 1));
  e.prim.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}, {DNNL_ARG_SCRATCHPAD, sm}});
  stream.wait();
}

void gemmTaskF32(const Gemm& g, const float* a, const float* b, float* c) {
  if (g.m == 0 || g.n == 0 || g.k == 0 || !gemmAvx2Suits()) return gemmF32(g, a, b, c);
  gemmAvx2Serial({g.m, g.n, g.k, a, g.lda, g.transA, b, g.ldb, g.transB, false, c, g.ldc, g.alpha, g.beta, nullptr});
}

namespace {

// packedBytes(k, n, bf16) -> bytes of a [k, n] B in the packed layout.
Napi::Value PackedBytes(const Napi::CallbackInfo& info) {
  requireArgs(info, 3, "packedBytes");
  int64_t k = sizeArg(info, 0, "k"), n = sizeArg(info, 1, "n");
  if (k == 0 || n == 0) throw argError(info.Env(), "packedBytes: k and n must be positive");
  return Napi::Number::New(info.Env(), static_cast<double>(packedDesc(k, n, dtypeOf(boolArg(info, 2, "bf16"))).get_size()));
}

// packB(b, out, k, n, transB): B ([k, n], or stored [n, k] when transB) reordered
// into out in the packed layout of out's dtype (b's, or f32 for a bf16 b).
Napi::Value PackB(const Napi::CallbackInfo& info) {
  requireArgs(info, 5, "packB");
  Napi::Env env = info.Env();
  FloatView b = floatArg(info, 0, "b");
  FloatView out = floatArg(info, 1, "out");
  int64_t k = sizeArg(info, 2, "k"), n = sizeArg(info, 3, "n");
  bool transB = boolArg(info, 4, "transB");
  if (k == 0 || n == 0) throw argError(env, "packB: k and n must be positive");
  // Same dtype, or a bf16 b widened into an f32 packed copy (for f32 compute).
  if (out.bf16 && !b.bf16) throw argError(env, "packB: out must be f32 when b is (a bf16 b packs into bf16 or f32)");
  requireLen(env, b.size, k * n, "b");
  if (!holdsPacked(out, k, n)) throw argError(env, "packB: out is smaller than packedBytes(k, n)");
  memory src(operandDesc(1, k, n, transB, 0, dtypeOf(b.bf16)), cpuEngine(), const_cast<void*>(b.data));
  memory dstMem(packedDesc(k, n, dtypeOf(out.bf16)), cpuEngine(), const_cast<void*>(out.data));
  dnnl::reorder(src, dstMem).execute(cpuStream(), src, dstMem);
  cpuStream().wait();
  return env.Undefined();
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "matmul", Matmul);
  exportFn(env, exports, "packedBytes", PackedBytes);
  exportFn(env, exports, "packB", PackB);
}

}  // namespace cola
