// Token embedding lookup (f32 or bf16 table) and its scatter-add backward.
#include <algorithm>

#include "common.h"

namespace cola {
namespace {

// Ids index the table; checked here so no call can read or write out of bounds.
void checkIds(Napi::Env env, const View<int32_t>& ids, int64_t tableRows) {
  for (size_t i = 0; i < ids.size; i++) {
    if (ids.data[i] < 0 || ids.data[i] >= tableRows) {
      throw Napi::RangeError::New(env, "embedding: id " + std::to_string(ids.data[i]) + " at " + std::to_string(i) +
                                           " is outside [0, " + std::to_string(tableRows) + ")");
    }
  }
}

// embedding(weight, ids, out, dim)
Napi::Value Embedding(const Napi::CallbackInfo& info) {
  requireArgs(info, 4, "embedding");
  Napi::Env env = info.Env();
  FloatView w = floatArg(info, 0, "weight");
  View<int32_t> ids = arrayArg<int32_t>(info, 1, "ids");
  View<float> out = arrayArg<float>(info, 2, "out");
  const int64_t dim = sizeArg(info, 3, "dim");
  const int64_t n = static_cast<int64_t>(ids.size);
  requireLen(env, out.size, n * dim, "embedding out");
  if (dim == 0) return env.Undefined();
  checkIds(env, ids, static_cast<int64_t>(w.size) / dim);
#pragma omp parallel for schedule(static) if (n * dim > 32768)
  for (int64_t i = 0; i < n; i++) {
    const int64_t from = static_cast<int64_t>(ids.data[i]) * dim;
    float* o = out.data + i * dim;
    if (w.bf16) {
      const uint16_t* src = static_cast<const uint16_t*>(w.data) + from;
#pragma omp simd
      for (int64_t d = 0; d < dim; d++) o[d] = bf16ToF32(src[d]);
    } else {
      std::memcpy(o, static_cast<const float*>(w.data) + from, static_cast<size_t>(dim) * sizeof(float));
    }
  }
  return env.Undefined();
}

// embeddingBackward(ids, dy, dWeight, dim): dWeight[ids[i]] += dy[i]. Threads
// split the columns, so repeated ids never race and still add in id order.
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  requireArgs(info, 4, "embeddingBackward");
  Napi::Env env = info.Env();
  View<int32_t> ids = arrayArg<int32_t>(info, 0, "ids");
  View<float> dy = arrayArg<float>(info, 1, "dy");
  View<float> dw = arrayArg<float>(info, 2, "dWeight");
  const int64_t dim = sizeArg(info, 3, "dim");
  const int64_t n = static_cast<int64_t>(ids.size);
  requireLen(env, dy.size, n * dim, "embeddingBackward dy");
  if (dim == 0) return env.Undefined();
  checkIds(env, ids, static_cast<int64_t>(dw.size) / dim);
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (dim + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n * dim > 32768)
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t d0 = b * kBlock, d1 = std::min(dim, d0 + kBlock);
    for (int64_t i = 0; i < n; i++) {
      float* to = dw.data + static_cast<int64_t>(ids.data[i]) * dim;
      const float* from = dy.data + i * dim;
#pragma omp simd
      for (int64_t d = d0; d < d1; d++) to[d] += from[d];
    }
  }
  return env.Undefined();
}

}  // namespace

void InitEmbedding(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "embedding", Embedding);
  exportFn(env, exports, "embeddingBackward", EmbeddingBackward);
}

}  // namespace cola
